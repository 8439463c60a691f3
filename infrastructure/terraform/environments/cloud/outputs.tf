output "variants" {
  description = "Which module variant each service uses."
  value       = module.config.variants
}

output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name <name>)."
  value       = module.cluster.cluster.name
}

output "database" {
  description = "Database connection (no password; see secret_ref)."
  value       = module.database.connection
}

output "cache" {
  description = "Cache connection (no password; see secret_ref)."
  value       = module.cache.connection
}

output "storage" {
  description = "Object storage connection (credentials via Pod Identity)."
  value       = module.storage.connection
}

output "registry" {
  description = "Image registry."
  value       = module.registry.registry
}

output "ingress" {
  description = "Ingress class and default annotations."
  value       = module.ingress.ingress
}

output "secret_store" {
  description = "ClusterSecretStore the ExternalSecrets reference."
  value       = module.secrets.store.name
}

output "workload_role_arn" {
  description = "IAM role bound to the platform's service accounts through Pod Identity."
  value       = module.workload_identity.role_arn
}

output "certificate_validation" {
  description = "DNS records to create so ACM issues the ingress certificate."
  value       = module.ingress.certificate_validation
}

# Contract with infrastructure/kubernetes/scripts/infra-outputs-from-terraform.sh:
# exactly the keys of overlays/<env>/infra-outputs.env, all non-secret strings.
output "kubernetes_infra_outputs" {
  description = "Non-secret settings the Kubernetes overlay of this environment consumes (infra-outputs.env; also annotations of the Argo CD cluster secret)."
  value       = local.kubernetes_infra_outputs
}

locals {
  kubernetes_infra_outputs = {
    ENVIRONMENT               = var.environment
    AWS_REGION                = var.aws_region
    VPC_CIDR                  = module.network.vpc_cidr
    DATABASE_SUBNETS_CIDR     = module.network.database_subnets_cidr
    CACHE_SUBNETS_CIDR        = module.network.cache_subnets_cidr
    DATABASE_URL              = module.database.connection.url
    DATABASE_SECRET_ARN       = module.database.connection.secret_ref.key
    DATABASE_ADMIN_SECRET_ARN = module.database.connection.admin_secret_ref.key
    REDIS_URL                 = module.cache.connection.url
    REDIS_SECRET_NAME         = module.cache.connection.secret_ref.key
    ARTIFACTS_ROOT            = "s3://${module.storage.connection.buckets["artifacts"]}/mlflow"
    BACKUP_S3_URI             = "s3://${module.storage.connection.buckets["backups"]}/postgresql"
    INGRESS_HOST              = module.ingress.ingress.host
    ACM_CERTIFICATE_ARN       = module.ingress.ingress.certificate_arn
    IMAGE_REGISTRY            = module.registry.registry.host
  }
}
