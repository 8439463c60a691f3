output "cluster" {
  description = "Cluster identity. Same shape for Kind and EKS."
  value = {
    name                   = aws_eks_cluster.this.name
    variant                = "eks"
    endpoint               = aws_eks_cluster.this.endpoint
    vpc_id                 = var.network.vpc_id
    kubernetes_version     = aws_eks_cluster.this.version
    certificate_authority  = base64decode(aws_eks_cluster.this.certificate_authority[0].data)
    node_security_group_id = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
    node_groups            = keys(var.cluster_config.node_groups)
  }
  # Consumers (Helm releases, in-cluster resources) need schedulable nodes
  # and DNS, not just an API server.
  depends_on = [aws_eks_node_group.this, aws_eks_addon.coredns]
}

output "kubernetes_auth" {
  description = "Credentials for the kubernetes/helm providers: client certificate (Kind) or an exec plugin (EKS)."
  sensitive   = true
  value = {
    client_certificate = null
    client_key         = null
    exec_api_version   = "client.authentication.k8s.io/v1beta1"
    exec_command       = "aws"
    exec_args          = ["eks", "get-token", "--cluster-name", aws_eks_cluster.this.name, "--region", local.region]
  }
}

output "karpenter" {
  description = "What the Karpenter Helm release and EC2NodeClass need (Kind: null)."
  value = {
    node_role_name          = aws_iam_role.karpenter_node.name
    interruption_queue_name = aws_sqs_queue.karpenter.name
    controller_role_arn     = aws_iam_role.karpenter_controller.arn
    discovery_tag           = aws_eks_cluster.this.name
    kms_key_arn             = aws_kms_key.this.arn
  }
}
