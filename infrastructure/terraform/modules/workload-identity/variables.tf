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
  description = "EKS cluster the workloads run in."
  type        = string
}

variable "service_accounts" {
  description = "Service accounts (in context.namespace) of the platform pods that read and write object storage. Not mlp-job: job pods reach artifacts through the backend (mlflow-artifacts:/), and their NetworkPolicy allows nothing else."
  type        = list(string)
  default     = ["mlp-backend", "mlp-worker", "mlp-pg-backup"]
}

variable "bucket_arns" {
  description = "bucket_arns output of modules/storage/cloud."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "kms_key_arn output of modules/storage/cloud."
  type        = string
}
