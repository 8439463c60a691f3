output "ingress" {
  description = "Ingress class and default annotations for workload Ingress objects. Same shape in the local and cloud variant."
  value = {
    class_name = "alb"
    controller = "aws-load-balancer-controller"
    default_annotations = {
      "alb.ingress.kubernetes.io/scheme"           = var.ingress_config.internet_facing ? "internet-facing" : "internal"
      "alb.ingress.kubernetes.io/target-type"      = "ip"
      "alb.ingress.kubernetes.io/listen-ports"     = "[{\"HTTPS\":443}]"
      "alb.ingress.kubernetes.io/ssl-policy"       = "ELBSecurityPolicy-TLS13-1-2-2021-06"
      "alb.ingress.kubernetes.io/backend-protocol" = "HTTP"
      "alb.ingress.kubernetes.io/certificate-arn"  = aws_acm_certificate.this.arn
    }
    scheme          = "https"
    host            = var.ingress_config.host
    certificate_arn = aws_acm_certificate.this.arn
  }
}

output "certificate_validation" {
  description = "DNS records that validate the certificate (local: none)."
  value = [for o in aws_acm_certificate.this.domain_validation_options : {
    name  = o.resource_record_name
    type  = o.resource_record_type
    value = o.resource_record_value
  }]
}
