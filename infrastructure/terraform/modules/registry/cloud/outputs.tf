output "registry" {
  description = "Where to push and pull images. Same shape in the local and cloud variant."
  value = {
    host         = local.host
    url          = "https://${local.host}"
    repositories = { for k, r in aws_ecr_repository.this : k => r.repository_url }
  }
}
