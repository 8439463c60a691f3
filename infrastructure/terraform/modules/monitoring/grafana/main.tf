# Grafana with a generated admin password (random_password, kept in a
# Kubernetes Secret, never in tfvars), Prometheus as default datasource,
# and the dashboard sidecar: ConfigMaps labelled grafana_dashboard="1" in
# any namespace (shipped by the Kubernetes manifests) are loaded.

resource "random_password" "admin" {
  length  = 32
  special = false
}

resource "kubernetes_secret_v1" "admin" {
  metadata {
    name      = "grafana-admin"
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/part-of"    = var.context.project
      "app.kubernetes.io/managed-by" = "terraform"
    }
  }
  data = {
    admin-user     = "admin"
    admin-password = random_password.admin.result
  }
}

resource "helm_release" "this" {
  name       = "grafana"
  namespace  = var.namespace
  repository = "https://grafana.github.io/helm-charts"
  chart      = "grafana"
  version    = "9.2.1"
  wait       = true

  values = [yamlencode({
    replicas = var.monitoring_config.replicas
    admin = {
      existingSecret = kubernetes_secret_v1.admin.metadata[0].name
      userKey        = "admin-user"
      passwordKey    = "admin-password" # checkov:skip=CKV_SECRET_6:name of a key in the generated Secret, not a secret value
    }
    persistence = { enabled = true, size = "5Gi" }
    datasources = {
      "datasources.yaml" = {
        apiVersion = 1
        datasources = [{
          name      = "Prometheus"
          uid       = "prometheus"
          type      = "prometheus"
          access    = "proxy"
          url       = var.prometheus_url
          isDefault = true
        }]
      }
    }
    sidecar = {
      dashboards = {
        enabled         = true
        label           = var.monitoring_config.dashboards_label
        labelValue      = "1"
        searchNamespace = "ALL"
      }
    }
    "grafana.ini" = {
      users     = { allow_sign_up = false }
      auth      = { disable_login_form = false }
      analytics = { reporting_enabled = false, check_for_updates = false }
    }
    securityContext = { runAsNonRoot = true, runAsUser = 472, fsGroup = 472 }
  })]
}
