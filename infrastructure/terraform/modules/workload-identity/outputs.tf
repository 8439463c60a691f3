output "role_arn" {
  description = "IAM role assumed by the platform pods."
  value       = aws_iam_role.this.arn
}
