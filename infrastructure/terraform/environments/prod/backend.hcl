# terraform init -backend-config=backend.hcl
# One state per environment in the shared, versioned state bucket; S3-native
# lock file (Terraform >= 1.10), server-side encryption.
bucket       = "ml-platform-terraform-state"
key          = "ml-platform/prod/terraform.tfstate"
region       = "eu-central-1"
encrypt      = true
use_lockfile = true
