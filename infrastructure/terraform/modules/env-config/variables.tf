variable "environment" {
  description = "Deployment environment: local, dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["local", "dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of local, dev, staging, prod."
  }
}

variable "project_name" {
  description = "Project name used in resource names."
  type        = string
  default     = "ml-platform"
}

variable "cluster_name" {
  description = "Kubernetes cluster name; defaults to <project>-<environment>."
  type        = string
  default     = null
}

variable "high_availability" {
  description = "Override: multi-AZ database and cache with automatic failover. Null takes the environment default."
  type        = bool
  default     = null

  validation {
    condition     = !(var.environment == "prod" && var.high_availability == false)
    error_message = "prod must run with high_availability (multi-AZ RDS and ElastiCache)."
  }

  validation {
    condition     = !(var.environment == "local" && var.high_availability == true)
    error_message = "local (Kind) cannot provide high availability."
  }
}

variable "backup_retention_days" {
  description = "Override: automated backup / snapshot retention in days. Null takes the environment default."
  type        = number
  default     = null

  validation {
    condition     = var.backup_retention_days == null || try(var.backup_retention_days >= 0 && var.backup_retention_days <= 35, false)
    error_message = "backup_retention_days must be between 0 and 35 (the RDS maximum)."
  }

  validation {
    condition     = !(var.environment == "prod" && try(var.backup_retention_days < 30, false))
    error_message = "prod needs at least 30 days of backup retention."
  }

  validation {
    condition     = !(contains(["dev", "staging"], var.environment) && try(var.backup_retention_days < 1, false))
    error_message = "cloud environments need automated backups (retention >= 1 day)."
  }
}

variable "deletion_protection" {
  description = "Override: deletion protection on stateful cloud resources. Null takes the environment default."
  type        = bool
  default     = null

  validation {
    condition     = !(var.environment == "prod" && var.deletion_protection == false)
    error_message = "prod must keep deletion protection on."
  }
}

variable "enable_monitoring" {
  description = "Deploy the Prometheus / Grafana stack."
  type        = bool
  default     = true
}

variable "development_mode" {
  description = "Local-only developer conveniences (seed: environments/local/terraform.tfvars)."
  type = object({
    enabled           = bool
    minimal_resources = bool
    allow_insecure    = bool
  })
  default = {
    enabled           = false
    minimal_resources = false
    allow_insecure    = false
  }

  validation {
    condition     = !(var.development_mode.allow_insecure && var.environment != "local")
    error_message = "development_mode.allow_insecure is only allowed in the local environment."
  }
}

variable "ingress_host" {
  description = "Public host name of the platform (ALB + ACM certificate). Required outside local, where it defaults to localhost."
  type        = string
  default     = null

  validation {
    condition     = var.environment == "local" || var.ingress_host != null
    error_message = "dev, staging and prod need an ingress_host (the certificate is issued for it)."
  }
}
