variable "project_name" {
  description = "Project name (environments/_shared/common.tfvars)."
  type        = string
}

variable "common_tags" {
  description = "Tags for every resource (environments/_shared/common.tfvars)."
  type        = map(string)
  default     = {}
}

variable "environment" {
  description = "Must be local for this root module."
  type        = string

  validation {
    condition     = var.environment == "local"
    error_message = "environments/local only deploys the local environment."
  }
}

variable "cluster_name" {
  description = "Kind cluster name."
  type        = string
}

variable "enable_monitoring" {
  description = "Deploy Prometheus and Grafana."
  type        = bool
  default     = true
}

variable "development_mode" {
  description = "Developer conveniences (smaller volumes)."
  type = object({
    enabled           = bool
    minimal_resources = bool
    allow_insecure    = bool
  })
}
