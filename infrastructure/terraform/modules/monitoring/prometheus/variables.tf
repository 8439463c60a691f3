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

variable "monitoring_config" {
  description = "monitoring_config object from modules/env-config."
  type = object({
    enabled           = bool
    retention         = string
    replicas          = number
    storage_size      = number
    dashboards_label  = string
    alerting_disabled = bool
  })
}

variable "namespace" {
  description = "Namespace of the monitoring stack."
  type        = string
  default     = "monitoring"
}

variable "storage_class" {
  description = "StorageClass of Prometheus' volume (cloud: the gp3 default from modules/cluster/addons, which also orders the release after it). null = the cluster default."
  type        = string
  default     = null
}
