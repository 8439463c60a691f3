output "name_prefix" {
  description = "Prefix for every resource name: <project>-<environment>."
  value       = local.name_prefix
}

output "tags" {
  description = "Tags to apply to every taggable resource (use as provider default_tags)."
  value       = local.tags
}

output "is_local" {
  description = "True for the Kind-based local environment."
  value       = local.is_local
}

output "context" {
  description = "Naming and tagging context passed to every service module."
  value       = local.context
}
