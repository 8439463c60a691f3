environment       = "local"
cluster_name      = "ml-platform-local"
enable_monitoring = true
development_mode = {
  enabled           = true
  minimal_resources = true
  allow_insecure    = true
}
