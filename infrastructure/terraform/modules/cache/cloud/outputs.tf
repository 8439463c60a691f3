output "connection" {
  description = "How to reach the cache. Same shape in the local and cloud variant; the URL never contains the AUTH token, which is fetched through secret_ref."
  value = {
    host     = aws_elasticache_replication_group.this.primary_endpoint_address
    port     = aws_elasticache_replication_group.this.port
    database = tostring(var.cache_config.database)
    username = "default"
    url      = "rediss://${aws_elasticache_replication_group.this.primary_endpoint_address}:${aws_elasticache_replication_group.this.port}/${var.cache_config.database}"
    tls      = true
    secret_ref = {
      store    = var.secret_store.name
      key      = aws_secretsmanager_secret.auth_token.name
      property = "password"
    }
  }
}

output "secret_access" {
  description = "Secrets and KMS keys the External Secrets Operator must be allowed to read (empty for the local variant)."
  value = {
    secret_arns  = [aws_secretsmanager_secret.auth_token.arn]
    kms_key_arns = [aws_kms_key.this.arn]
  }
}

output "security_group_id" {
  description = "Security group of the data store (local variant: null)."
  value       = aws_security_group.this.id
}
