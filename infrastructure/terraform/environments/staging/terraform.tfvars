environment           = "staging"
aws_region            = "eu-central-1"
cluster_name          = "ml-platform-staging"
ingress_host          = "ml-platform.staging.example.com"
enable_monitoring     = true
high_availability     = false
backup_retention_days = 14
deletion_protection   = true
