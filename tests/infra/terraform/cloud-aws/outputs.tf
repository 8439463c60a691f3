# What the module blocks were given, so tests/cloud.tftest.hcl can re-plan a
# single module with exactly those inputs and assert on its resources (run
# assertions see only the root's outputs, not a child module's resources).
output "context" {
  value = module.common.context
}

output "config" {
  value = module.config
}

output "cluster_network" {
  value = {
    vpc_id     = module.network.vpc_id
    subnet_ids = module.network.private_subnet_ids
  }
}

output "database_network" {
  value = local.database_network
}

output "secret_store" {
  value = local.secret_store
}

output "database" {
  value = module.database.connection
}

output "registry" {
  value = module.registry.registry
}

output "admin_secret_name" {
  value = module.mlp_admin.secret_name
}

output "storage" {
  value = module.storage.connection
}

output "availability_zones" {
  value = module.network.availability_zones
}
