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
  description = "CIDRs allowed to reach the EKS public endpoint: the network Terraform (CI runner or operator) applies from. Required: this root installs Helm releases into the cluster it creates, from outside the VPC, so a private-only endpoint would stop the first apply. Pass it per deploy (TF_VAR_endpoint_public_access_cidrs='[\"203.0.113.7/32\"]')."
  type        = list(string)

  validation {
    condition     = length(var.endpoint_public_access_cidrs) > 0 && !contains(var.endpoint_public_access_cidrs, "0.0.0.0/0")
    error_message = "Set endpoint_public_access_cidrs to the CIDR(s) Terraform runs from (never 0.0.0.0/0): the Helm releases of this root are installed through the EKS public endpoint."
  }
}

variable "admin_role_arns" {
  description = "IAM roles granted cluster-admin via EKS access entries."
  type        = list(string)
  default     = []
}

variable "gitops_repo_url" {
  description = "Git repository Argo CD syncs the platform from."
  type        = string
  default     = "https://github.com/ml-platform/ml-platform.git"
}

variable "gitops_revision" {
  description = "Branch, tag or commit Argo CD syncs."
  type        = string
  default     = "main"
}
