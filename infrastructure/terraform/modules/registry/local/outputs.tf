output "registry" {
  description = "Where to push and pull images. Same shape in the local and cloud variant."
  value = {
    host         = local.host
    url          = "http://${local.host}"
    repositories = { for r in var.registry_config.repositories : r => "${local.host}/${var.context.project}/${r}" }
  }
}
