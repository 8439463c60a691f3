variable "context" {
  description = "Naming and tagging context from modules/common (context output)."
  type = object({
    project     = string
    environment = string
    name_prefix = string
    namespace   = string
    is_local    = bool
    tags        = map(string)
  })
}

variable "database_config" {
  description = "The seed's database_config object (from modules/env-config). Identical in the local and cloud variant; there is no password field: passwords are generated."
  type = object({
    engine                = string
    version               = string
    instance_class        = string
    storage_size          = number
    database              = string
    credentials           = object({ username = string })
    high_availability     = bool
    backup_retention_days = number
    deletion_protection   = bool
  })

  validation {
    condition     = var.database_config.engine == "postgres"
    error_message = "Only the postgres engine is supported."
  }
}

variable "network" {
  description = "Cloud placement: VPC, private subnets and the security groups of the clients allowed in. Null for the local variant."
  type = object({
    vpc_id                    = string
    subnet_ids                = list(string)
    client_security_group_ids = list(string)
  })
  default = null
}

variable "secret_store" {
  description = "Where generated credentials live: the ExternalSecrets ClusterSecretStore name, and (local variant) the namespace it reads from."
  type = object({
    name                 = string
    kubernetes_namespace = string
  })
  default = {
    name                 = "platform-secrets"
    kubernetes_namespace = "platform-secrets"
  }
}


variable "app_password_version" {
  description = "Version of the application role's password; increase it to rotate the password (cloud). The local variant generates the password once."
  type        = number
  default     = 1
}
