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
  description = "EKS cluster name."
  type        = string
}

variable "cluster_endpoint" {
  description = "EKS API endpoint."
  type        = string
}

variable "karpenter" {
  description = "The karpenter output of modules/cluster/eks."
  type = object({
    node_role_name          = string
    interruption_queue_name = string
    controller_role_arn     = string
    discovery_tag           = string
    kms_key_arn             = string
  })
}

variable "node_pools" {
  description = "cluster_config.karpenter_node_pools from modules/env-config."
  type = map(object({
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
}

variable "chart_version" {
  description = "Karpenter Helm chart version."
  type        = string
  default     = "1.6.3"
}
