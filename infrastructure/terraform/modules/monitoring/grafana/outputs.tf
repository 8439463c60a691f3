output "url" {
  description = "In-cluster URL of Grafana."
  value       = "http://grafana.${var.namespace}.svc.cluster.local"
  depends_on  = [helm_release.this]
}

output "admin_secret" {
  description = "Kubernetes Secret holding the generated Grafana admin credentials."
  value       = { namespace = var.namespace, name = kubernetes_secret_v1.admin.metadata[0].name }
}
