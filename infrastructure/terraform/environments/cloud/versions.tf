# The one root module of the cloud environments. dev, staging and prod are
# only data: environments/<env>/terraform.tfvars and backend.hcl
# (`mlp infra deploy <env>` runs this root with them).
terraform {
  required_version = "~> 1.10"

  # Partial configuration: `terraform init -backend-config=backend.hcl`
  # (S3 with native lock files and encryption); CI runs init -backend=false.
  backend "s3" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.36"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    kubectl = {
      source  = "alekc/kubectl"
      version = "~> 2.1"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}
