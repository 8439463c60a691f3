# External Secrets Operator plus one ClusterSecretStore named
# var.store_name in every environment. Workloads declare ExternalSecrets
# against that name and never learn where the value comes from:
#   - cloud: AWS Secrets Manager, authenticated with the controller's own
#     EKS Pod Identity (role and scoped policy in ./iam);
#   - local: generated Kubernetes Secrets in a source namespace, read
#     through ESO's kubernetes provider with a read-only service account.

locals {
  eso_namespace    = "external-secrets"
  source_namespace = var.store_name
  labels = {
    "app.kubernetes.io/part-of"    = var.context.project
    "app.kubernetes.io/managed-by" = "terraform"
  }
}

resource "terraform_data" "aws_needs_region" {
  lifecycle {
    precondition {
      condition     = var.backend != "aws" || var.aws_region != null
      error_message = "backend = aws needs aws_region."
    }
  }
}

# Orders the controller after its identity: the EKS Pod Identity webhook
# injects credentials only into pods created after the association exists.
resource "terraform_data" "operator_identity" {
  input = var.operator_identity
}

resource "helm_release" "eso" {
  name             = "external-secrets"
  namespace        = local.eso_namespace
  create_namespace = true
  repository       = "https://charts.external-secrets.io"
  chart            = "external-secrets"
  version          = var.chart_version
  wait             = true
  depends_on       = [terraform_data.operator_identity]

  values = [yamlencode({
    installCRDs = true
    serviceAccount = {
      create = true
      name   = "external-secrets"
    }
    tolerations = [
      { key = "CriticalAddonsOnly", operator = "Exists", effect = "NoSchedule" }
    ]
    resources = {
      requests = { cpu = "50m", memory = "128Mi" }
      limits   = { cpu = "500m", memory = "256Mi" }
    }
  })]
}

# --- local: the source namespace and a read-only reader --------------------
resource "kubernetes_namespace_v1" "source" {
  count = var.backend == "kubernetes" ? 1 : 0
  metadata {
    name   = local.source_namespace
    labels = merge(local.labels, { "pod-security.kubernetes.io/enforce" = "restricted" })
  }
}

resource "kubernetes_service_account_v1" "reader" {
  count = var.backend == "kubernetes" ? 1 : 0
  metadata {
    name      = "secret-store-reader"
    namespace = kubernetes_namespace_v1.source[0].metadata[0].name
    labels    = local.labels
  }
  automount_service_account_token = false
}

resource "kubernetes_role_v1" "reader" {
  count = var.backend == "kubernetes" ? 1 : 0
  metadata {
    name      = "secret-store-reader"
    namespace = kubernetes_namespace_v1.source[0].metadata[0].name
    labels    = local.labels
  }
  rule {
    api_groups = [""]
    resources  = ["secrets"]
    verbs      = ["get", "list", "watch"]
  }
  rule {
    api_groups = ["authorization.k8s.io"]
    resources  = ["selfsubjectrulesreviews"]
    verbs      = ["create"]
  }
}

resource "kubernetes_role_binding_v1" "reader" {
  count = var.backend == "kubernetes" ? 1 : 0
  metadata {
    name      = "secret-store-reader"
    namespace = kubernetes_namespace_v1.source[0].metadata[0].name
    labels    = local.labels
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role_v1.reader[0].metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.reader[0].metadata[0].name
    namespace = kubernetes_namespace_v1.source[0].metadata[0].name
  }
}

locals {
  provider_spec = var.backend == "aws" ? {
    aws = {
      service = "SecretsManager"
      region  = var.aws_region
    }
    } : {
    kubernetes = {
      remoteNamespace = local.source_namespace
      server = {
        caProvider = {
          type      = "ConfigMap"
          name      = "kube-root-ca.crt"
          key       = "ca.crt"
          namespace = local.source_namespace
        }
      }
      auth = {
        serviceAccount = {
          name      = "secret-store-reader"
          namespace = local.source_namespace
        }
      }
    }
  }
}

resource "kubectl_manifest" "store" {
  yaml_body = yamlencode({
    apiVersion = "external-secrets.io/v1"
    kind       = "ClusterSecretStore"
    metadata   = { name = var.store_name, labels = local.labels }
    spec       = { provider = local.provider_spec }
  })

  depends_on = [helm_release.eso, kubernetes_role_binding_v1.reader, terraform_data.aws_needs_region]
}
