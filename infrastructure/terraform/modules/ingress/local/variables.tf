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

variable "ingress_config" {
  description = "ingress_config object (from modules/env-config). Identical in the local and cloud variant."
  type = object({
    host            = string
    internet_facing = bool
    replicas        = number
  })
}

variable "cluster" {
  description = "The cluster output of modules/cluster/{kind,eks}."
  type = object({
    name     = string
    endpoint = string
    vpc_id   = string
  })
}
