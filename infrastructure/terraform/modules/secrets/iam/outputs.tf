output "role_arn" {
  description = "IAM role assumed by the External Secrets Operator."
  value       = aws_iam_role.this.arn
}
