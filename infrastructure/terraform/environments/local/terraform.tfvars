environment       = "local"
cluster_name      = "ml-platform"
enable_monitoring = true
development_mode = {
  enabled           = true
  minimal_resources = true
  allow_insecure    = true
}
