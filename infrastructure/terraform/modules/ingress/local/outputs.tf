output "ingress" {
  description = "Ingress class and default annotations for workload Ingress objects. Same shape in the local and cloud variant."
  value = {
    class_name          = "nginx"
    controller          = "nginx-ingress"
    default_annotations = {}
    scheme              = "http"
    host                = var.ingress_config.host
    certificate_arn     = null
  }
}

output "certificate_validation" {
  description = "DNS records that validate the certificate (local: none)."
  value       = []
}
