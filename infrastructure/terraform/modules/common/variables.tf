variable "project_name" {
  description = "Project name, used as the first part of every resource name."
  type        = string
  default     = "ml-platform"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-22 lowercase letters, digits or dashes."
  }
}

variable "environment" {
  description = "Deployment environment: local, dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["local", "dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of local, dev, staging, prod."
  }
}

variable "common_tags" {
  description = "Tags applied to every taggable resource (merged under the mandatory ones)."
  type        = map(string)
  default     = {}
}

variable "namespace" {
  description = "Kubernetes namespace the platform workloads run in."
  type        = string
  default     = "ml-platform"
}
