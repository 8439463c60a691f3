variable "context" {
  description = "Naming and tagging context from modules/common."
  type = object({
    project     = string
    environment = string
    name_prefix = string
    namespace   = string
    is_local    = bool
    tags        = map(string)
  })
}

variable "network_config" {
  description = "VPC layout from modules/env-config (network_config output)."
  type = object({
    vpc_cidr           = string
    az_count           = number
    single_nat_gateway = bool
  })
}

variable "cluster_name" {
  description = "EKS cluster name, used for subnet discovery tags (ALB controller, Karpenter)."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of VPC flow logs in CloudWatch."
  type        = number
  default     = 365
}
