output "connection" {
  description = "How to reach the database. Same shape in the local and cloud variant; the URL never contains the password, which is fetched through secret_ref."
  value = {
    host     = aws_db_instance.this.address
    port     = aws_db_instance.this.port
    database = var.database_config.database
    username = var.database_config.credentials.username
    url      = "postgresql://${var.database_config.credentials.username}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.database_config.database}?sslmode=require"
    tls      = true
    secret_ref = {
      store    = var.secret_store.name
      key      = aws_secretsmanager_secret.app.arn
      property = "password"
    }
    # The RDS master login, for creating the application role (never the application's).
    admin_secret_ref = {
      store    = var.secret_store.name
      key      = local.secret_arn
      property = "password"
      username = local.admin_username
    }
  }
}

output "secret_access" {
  description = "Secrets and KMS keys the External Secrets Operator must be allowed to read (empty for the local variant)."
  value = {
    secret_arns  = [local.secret_arn, aws_secretsmanager_secret.app.arn]
    kms_key_arns = [aws_kms_key.this.arn]
  }
}

output "security_group_id" {
  description = "Security group of the data store (local variant: null)."
  value       = aws_security_group.this.id
}
