output "storage_class" {
  description = "The default StorageClass (gp3, encrypted); PVCs of the monitoring stack name it."
  value       = kubernetes_storage_class_v1.gp3.metadata[0].name
}

output "argocd_namespace" {
  description = "Namespace of Argo CD."
  value       = helm_release.argocd.namespace
}

output "velero_namespace" {
  description = "Namespace of Velero, where the overlays' Schedules go."
  value       = helm_release.velero.namespace
}
