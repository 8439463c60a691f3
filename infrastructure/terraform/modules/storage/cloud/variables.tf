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

variable "storage_config" {
  description = "storage_config object (from modules/env-config). Identical in the local and cloud variant."
  type = object({
    buckets                            = list(string)
    versioning                         = bool
    size                               = number
    transition_to_ia_days              = number
    transition_to_glacier_days         = number
    noncurrent_version_expiration_days = number
    force_destroy                      = bool
  })
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

