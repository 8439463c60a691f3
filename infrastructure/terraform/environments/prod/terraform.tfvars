environment           = "prod"
aws_region            = "eu-central-1"
cluster_name          = "ml-platform"
ingress_host          = "ml-platform.example.com"
enable_monitoring     = true
high_availability     = true
backup_retention_days = 30
deletion_protection   = true
