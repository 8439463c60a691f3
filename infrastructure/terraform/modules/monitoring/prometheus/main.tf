# kube-prometheus-stack (Prometheus Operator, Prometheus, Alertmanager,
# node-exporter, kube-state-metrics). Grafana is deployed separately by
# modules/monitoring/grafana. ServiceMonitors, PodMonitors and
# PrometheusRules from any namespace are picked up (selectors not limited
# to this Helm release), so the Kubernetes manifests can ship their own.

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of"    = var.context.project
      "app.kubernetes.io/managed-by" = "terraform"
    }
  }
}

resource "helm_release" "this" {
  name       = "kube-prometheus-stack"
  namespace  = kubernetes_namespace_v1.this.metadata[0].name
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "kube-prometheus-stack"
  version    = "72.6.2"
  wait       = true
  timeout    = 900

  values = [yamlencode({
    grafana = { enabled = false }
    alertmanager = {
      enabled = !var.monitoring_config.alerting_disabled
      alertmanagerSpec = {
        replicas = var.monitoring_config.replicas
      }
    }
    prometheus = {
      prometheusSpec = {
        replicas                                = var.monitoring_config.replicas
        retention                               = var.monitoring_config.retention
        serviceMonitorSelectorNilUsesHelmValues = false
        podMonitorSelectorNilUsesHelmValues     = false
        ruleSelectorNilUsesHelmValues           = false
        externalLabels                          = { environment = var.context.environment }
        storageSpec = {
          volumeClaimTemplate = {
            spec = {
              accessModes      = ["ReadWriteOnce"]
              storageClassName = var.storage_class
              resources        = { requests = { storage = "${var.monitoring_config.storage_size}Gi" } }
            }
          }
        }
        resources = {
          requests = { cpu = "250m", memory = "1Gi" }
          limits   = { memory = "4Gi" }
        }
      }
    }
  })]
}
