output "role_arn" {
  description = "IAM role assumed by the External Secrets Operator."
  value       = aws_iam_role.this.arn
}

output "association_id" {
  description = "The operator's Pod Identity association. Depends on the role only (not on the read policy, which waits for the data stores), so the operator can be installed after it and before RDS: Pod Identity injects credentials when a pod starts, so a pod started before its association never gets any."
  value       = aws_eks_pod_identity_association.this.association_id
}
