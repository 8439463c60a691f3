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

variable "registry_config" {
  description = "registry_config object (from modules/env-config). Identical in the local and cloud variant."
  type = object({
    repositories         = list(string)
    keep_last_images     = number
    untagged_expiry_days = number
  })
}
