variable "environment" {
  description = "Environment name (local, dev, staging, prod); recorded as a tag on every object."
  type        = string
  validation {
    condition     = contains(["local", "dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of local, dev, staging, prod."
  }
}

variable "mlp_host" {
  description = "Base URL of the environment's mlp server; null reads MLP_SERVER."
  type        = string
  default     = null
}

variable "shared_experiments" {
  description = "Experiments every team logs to, by name, with their tags."
  type = map(object({
    tags = optional(map(string), {})
  }))
  default = {}
}

variable "registered_models" {
  description = "Registered models the workloads publish versions to, by name."
  type = map(object({
    description = optional(string)
    tags        = optional(map(string), {})
  }))
  default = {}
}

variable "manage_access" {
  description = "Manage users, roles and grants (the server runs with authentication on)."
  type        = bool
  default     = false
}

variable "users" {
  description = "Users of the platform, by username. Their passwords come from user_passwords."
  type = map(object({
    is_admin = optional(bool, false)
  }))
  default = {}
}

variable "user_passwords" {
  description = "Initial password of each user in var.users, from the secret store (TF_VAR_user_passwords); never in a tfvars file."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "roles" {
  description = "The teams' roles, by name: their grants on the shared experiments and registered models (by a stable key) or on the whole workspace (\"*\"), the jobs capability (resource_type \"jobs\", \"*\", USE: submitting jobs), and their members (keys of var.users). A role holding MANAGE on the workspace must say admin = true (`mlp infra check` rule MLP-004)."
  type = map(object({
    description = optional(string)
    admin       = optional(bool, false)
    grants = optional(map(object({
      resource_type = string # experiment | registered_model | workspace | jobs
      resource      = string # a key of shared_experiments or registered_models; "*" for workspace and jobs
      permission    = string # READ | USE | EDIT | MANAGE | DENY (USE or MANAGE on workspace, USE on jobs)
    })), {})
    members = optional(set(string), [])
  }))
  default = {}
  validation {
    condition     = alltrue(flatten([for r in values(var.roles) : [for g in values(r.grants) : contains(["experiment", "registered_model", "workspace", "jobs"], g.resource_type) && (!contains(["workspace", "jobs"], g.resource_type) || g.resource == "*") && (g.resource_type != "jobs" || g.permission == "USE")]]))
    error_message = "roles[*].grants[*].resource_type must be experiment, registered_model, workspace (with resource = \"*\") or jobs (resource = \"*\", permission = \"USE\")."
  }
}

variable "grants" {
  description = "Direct grants of users on the shared experiments and registered models, by a stable key."
  type = map(object({
    username      = string
    resource_type = string # experiment | registered_model
    resource      = string # a key of shared_experiments or registered_models
    permission    = string # READ | USE | EDIT | MANAGE | DENY
  }))
  default = {}
  validation {
    condition     = alltrue([for g in values(var.grants) : contains(["experiment", "registered_model"], g.resource_type)])
    error_message = "grants[*].resource_type must be experiment or registered_model."
  }
}
