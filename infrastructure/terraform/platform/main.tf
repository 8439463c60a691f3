# The platform's own objects: shared experiments, the registered models the example workloads
# publish to, and (with authentication) who may use them: the teams' roles, their grants and
# members, and a few direct grants. Applied after the rollout by
# `terraform -chdir=infrastructure/terraform/platform apply -var-file=envs/<env>.tfvars`.

locals {
  managed_tags = { "managed-by" = "terraform", "environment" = var.environment }
  users        = var.manage_access ? var.users : {}
  grants       = var.manage_access ? var.grants : {}
  roles        = var.manage_access ? var.roles : {}
  # Flattened for for_each: "<role>/<grant key>" and "<role>/<username>". A grant carries its
  # role's admin mark, which `mlp infra check` (MLP-004) reads per environment.
  role_grants = merge([for r, v in local.roles :
    { for k, g in v.grants : "${r}/${k}" => merge(g, { role = r, admin = lookup(v, "admin", false) }) }
  ]...)
  role_members = merge([for r, v in local.roles :
    { for u in v.members : "${r}/${u}" => { role = r, username = u } }
  ]...)
}

resource "mlp_experiment" "shared" {
  for_each = var.shared_experiments

  name = each.key
  tags = merge(local.managed_tags, each.value.tags)
  # A shared experiment deleted by mistake comes back with its runs on the next apply.
  restore_on_create = true
}

resource "mlp_registered_model" "model" {
  for_each = var.registered_models

  name        = each.key
  description = each.value.description
  tags        = merge(local.managed_tags, each.value.tags)
}

resource "mlp_user" "user" {
  for_each = local.users

  username = each.key
  password = lookup(var.user_passwords, each.key, null)
  is_admin = each.value.is_admin

  lifecycle {
    precondition {
      condition     = contains(keys(var.user_passwords), each.key)
      error_message = "user ${each.key} has no entry in user_passwords (TF_VAR_user_passwords)."
    }
  }
}

resource "mlp_permission" "grant" {
  for_each = local.grants

  username      = mlp_user.user[each.value.username].username
  resource_type = each.value.resource_type
  resource_id = (each.value.resource_type == "experiment"
    ? mlp_experiment.shared[each.value.resource].id
  : mlp_registered_model.model[each.value.resource].name)
  permission = each.value.permission
}

resource "mlp_role" "team" {
  for_each = local.roles

  name        = each.key
  description = each.value.description
}

resource "mlp_role_permission" "team" {
  for_each = local.role_grants

  role_id       = mlp_role.team[each.value.role].id
  resource_type = each.value.resource_type
  resource_pattern = (contains(["workspace", "jobs"], each.value.resource_type) ? "*"
    : each.value.resource_type == "experiment" ? mlp_experiment.shared[each.value.resource].id
  : mlp_registered_model.model[each.value.resource].name)
  permission = each.value.permission
}

resource "mlp_role_assignment" "member" {
  for_each = local.role_members

  username = mlp_user.user[each.value.username].username
  role_id  = mlp_role.team[each.value.role].id
}
