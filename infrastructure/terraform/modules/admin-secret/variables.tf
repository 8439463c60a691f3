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

variable "password" {
  description = "The admin's password, an ephemeral value (the root generates it with ephemeral aws_secretsmanager_random_password); written write-only, never in the state."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "password_version" {
  description = "Version of the written password; increase it to write a new one."
  type        = number
  default     = 1
}
