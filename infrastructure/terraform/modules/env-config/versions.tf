# Pure-HCL module holding every per-environment decision (the seed's
# environment table). No provider: `terraform test` runs it offline.
terraform {
  required_version = ">= 1.10.0"
}
