# Pure-HCL module: no provider, so it can be initialised, validated and
# tested offline (`terraform test`).
terraform {
  required_version = ">= 1.10.0"
}
