output "experiment_ids" {
  description = "Shared experiment IDs by name (for MLFLOW_EXPERIMENT_ID in job specs)."
  value       = { for k, e in mlp_experiment.shared : k => e.id }
}

output "registered_models" {
  description = "Names of the registered models the workloads publish to."
  value       = sort([for m in mlp_registered_model.model : m.name])
}

output "grants" {
  description = "Grant IDs (<username>:<resource_type>:<resource_id>) by key."
  value       = { for k, g in mlp_permission.grant : k => g.id }
}

output "role_ids" {
  description = "The teams' role IDs by name (for `mlp_role_assignment` elsewhere, or `roles/assign`)."
  value       = { for k, r in mlp_role.team : k => r.id }
}
