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

variable "cache_config" {
  description = "cache_config object (from modules/env-config). Identical in the local and cloud variant."
  type = object({
    engine                  = string
    version                 = string
    node_type               = string
    replicas                = number
    database                = number
    high_availability       = bool
    snapshot_retention_days = number
    deletion_protection     = bool
  })

  validation {
    condition     = !var.cache_config.high_availability || var.cache_config.replicas >= 1
    error_message = "high_availability needs at least one replica for automatic failover."
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

