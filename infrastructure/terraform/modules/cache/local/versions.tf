terraform {
  required_version = ">= 1.10.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.36"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6"
    }
  }
}
