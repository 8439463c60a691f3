output "cluster" {
  description = "Cluster identity. Same shape for Kind and EKS."
  value = {
    name                   = kind_cluster.this.name
    variant                = "kind"
    endpoint               = kind_cluster.this.endpoint
    vpc_id                 = null
    kubernetes_version     = var.cluster_config.kubernetes_version
    certificate_authority  = kind_cluster.this.cluster_ca_certificate
    node_security_group_id = null
    node_groups            = keys(var.cluster_config.node_groups)
  }
}

output "kubernetes_auth" {
  description = "Credentials for the kubernetes/helm providers: client certificate (Kind) or an exec plugin (EKS)."
  sensitive   = true
  value = {
    client_certificate = kind_cluster.this.client_certificate
    client_key         = kind_cluster.this.client_key
    exec_api_version   = null
    exec_command       = null
    exec_args          = []
  }
}

output "karpenter" {
  description = "What the Karpenter Helm release and EC2NodeClass need (Kind: null)."
  value       = null
}
