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
  description = "dev, staging or prod."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "Cloud root modules deploy dev, staging or prod."
  }
}

variable "aws_region" {
  description = "AWS region of the environment."
  type        = string
}

variable "ingress_host" {
  description = "Public host name of the platform; an ACM certificate is issued for it."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster name."
  type        = string
}

variable "enable_monitoring" {
  description = "Deploy Prometheus and Grafana."
  type        = bool
  default     = true
}

variable "high_availability" {
  description = "Multi-AZ database and cache with failover (null: environment default)."
  type        = bool
  default     = null
}

variable "backup_retention_days" {
  description = "Backup / snapshot retention in days (null: environment default)."
  type        = number
  default     = null
}

variable "deletion_protection" {
  description = "Deletion protection on stateful resources (null: environment default)."
  type        = bool
  default     = null
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the EKS public endpoint; empty keeps it private."
  type        = list(string)
  default     = []
}

variable "admin_role_arns" {
  description = "IAM roles granted cluster-admin via EKS access entries."
  type        = list(string)
  default     = []
}
