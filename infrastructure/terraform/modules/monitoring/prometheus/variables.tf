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
