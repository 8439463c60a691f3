output "url" {
  description = "In-cluster URL of Prometheus."
  value       = "http://kube-prometheus-stack-prometheus.${var.namespace}.svc.cluster.local:9090"
  depends_on  = [helm_release.this]
}

output "namespace" {
  description = "Namespace of the monitoring stack."
  value       = kubernetes_namespace_v1.this.metadata[0].name
}
