# The platform objects' state (infrastructure/terraform/platform, terraform-provider-mlp):
# same bucket, region, encryption and S3-native lock file as backend.hcl, its own key.
# mlp infra deploy prod: terraform -chdir=../../platform init -backend-config=../environments/prod/platform.backend.hcl
bucket       = "ml-platform-terraform-state"
key          = "ml-platform/prod/platform.tfstate"
region       = "eu-central-1"
encrypt      = true
use_lockfile = true
