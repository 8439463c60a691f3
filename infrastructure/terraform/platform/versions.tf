terraform {
  required_version = "~> 1.10"

  required_providers {
    # Built from crates/terraform-provider-mlp; installed through a dev_overrides CLI config
    # until it is published (see infrastructure/terraform/README.md, "The platform's own objects").
    mlp = {
      source  = "ml-platform/mlp"
      version = "~> 0.1"
    }
  }
}
