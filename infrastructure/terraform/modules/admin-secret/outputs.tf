output "secret_name" {
  description = "Name of the Secrets Manager secret (<project>/<environment>/mlp-admin)."
  value       = aws_secretsmanager_secret.this.name
}

output "secret_access" {
  description = "The secret and its KMS key, for the External Secrets Operator's read policy (modules/secrets/iam)."
  value = {
    secret_arns  = [aws_secretsmanager_secret.this.arn]
    kms_key_arns = [aws_kms_key.this.arn]
  }
}
