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

variable "cluster_name" {
  description = "EKS cluster the operator runs in."
  type        = string
}

variable "operator" {
  description = "operator output of modules/secrets (namespace and service account)."
  type = object({
    namespace       = string
    service_account = string
  })
}

variable "secret_access" {
  description = "secret_access outputs of the service modules: the only secrets and keys the operator may read."
  type = list(object({
    secret_arns  = list(string)
    kms_key_arns = list(string)
  }))
}
