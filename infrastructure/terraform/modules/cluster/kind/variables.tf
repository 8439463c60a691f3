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

variable "cluster_config" {
  description = "cluster_config object (from modules/env-config). Identical for Kind and EKS; Kind simulates node groups with labelled and tainted workers and ignores Karpenter pools."
  type = object({
    name               = string
    kubernetes_version = string
    node_groups = map(object({
      instance_types          = list(string)
      capacity_type           = string
      min_size                = number
      max_size                = number
      desired_size            = number
      ami_type                = string
      disk_size               = number
      labels                  = map(string)
      taints                  = list(object({ key = string, value = string, effect = string }))
      scale_to_zero_off_hours = bool
    }))
    karpenter_node_pools = map(object({
      capacity_types    = list(string)
      instance_families = list(string)
      architectures     = list(string)
      cpu_limit         = number
      memory_limit_gi   = number
      gpu_limit         = number
      consolidate_after = string
      weight            = number
      labels            = map(string)
      taints            = list(object({ key = string, value = string, effect = string }))
    }))
    scale_schedule = object({
      enabled         = bool
      time_zone       = string
      scale_down_cron = string
      scale_up_cron   = string
    })
  })

  validation {
    condition     = alltrue([for g in values(var.cluster_config.node_groups) : contains(["ON_DEMAND", "SPOT"], g.capacity_type) && g.min_size <= g.desired_size && g.desired_size <= g.max_size])
    error_message = "Node groups need capacity_type ON_DEMAND or SPOT and min_size <= desired_size <= max_size."
  }
}

variable "network" {
  description = "Cloud placement: VPC and private subnets for nodes and control plane. Null for Kind."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
  default = null
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint. Empty means a private-only endpoint (EKS) / localhost only (Kind)."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.endpoint_public_access_cidrs, "0.0.0.0/0")
    error_message = "The API endpoint must never be open to 0.0.0.0/0."
  }
}

variable "admin_role_arns" {
  description = "IAM roles given cluster-admin through EKS access entries (unused by Kind)."
  type        = list(string)
  default     = []
}
