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

variable "backend" {
  description = "Where secrets live: \"aws\" (AWS Secrets Manager, cloud) or \"kubernetes\" (generated Secrets in a source namespace, local)."
  type        = string

  validation {
    condition     = contains(["aws", "kubernetes"], var.backend)
    error_message = "backend must be aws or kubernetes."
  }
}

variable "aws_region" {
  description = "AWS region of Secrets Manager (backend = aws)."
  type        = string
  default     = null
}

variable "store_name" {
  description = "Name of the ClusterSecretStore every ExternalSecret references, in every environment."
  type        = string
  default     = "platform-secrets"
}

variable "chart_version" {
  description = "external-secrets Helm chart version (serves external-secrets.io/v1)."
  type        = string
  default     = "0.19.2"
}

variable "operator_identity" {
  description = "Id of the operator's workload identity (cloud: the Pod Identity association from ./iam), so the controller pods start only once it exists. null where no identity is needed (local)."
  type        = string
  default     = null
}
