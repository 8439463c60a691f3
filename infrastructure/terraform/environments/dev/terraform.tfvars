environment           = "dev"
aws_region            = "eu-central-1"
cluster_name          = "ml-platform-dev"
ingress_host          = "ml-platform.dev.example.com"
enable_monitoring     = true
high_availability     = false
backup_retention_days = 7
deletion_protection   = false
