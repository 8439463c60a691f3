output "variants" {
  description = "Which module variant each service uses."
  value       = module.config.variants
}

output "cluster_name" {
  description = "Kind cluster name (kubectl context kind-<name>)."
  value       = module.cluster.cluster.name
}

output "registry" {
  description = "Image registry."
  value       = module.registry.registry
}

output "ingress" {
  description = "Ingress class and default annotations."
  value       = module.ingress.ingress
}

output "secret_store" {
  description = "ClusterSecretStore the ExternalSecrets reference."
  value       = module.secrets.store.name
}
