output "store" {
  description = "secret_store object for the service modules: the ClusterSecretStore name and the (local) source namespace."
  value = {
    name                 = var.store_name
    kubernetes_namespace = var.backend == "kubernetes" ? kubernetes_namespace_v1.source[0].metadata[0].name : local.source_namespace
  }
  depends_on = [kubectl_manifest.store]
}

output "operator" {
  description = "Namespace and service account of the External Secrets Operator (bound to IAM by ./iam in the cloud)."
  value = {
    namespace       = local.eso_namespace
    service_account = "external-secrets"
  }
}
