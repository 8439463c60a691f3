run "naming_and_tags" {
  command = plan

  variables {
    environment = "staging"
    common_tags = { Team = "ml", Environment = "spoofed" }
  }

  assert {
    condition     = output.name_prefix == "ml-platform-staging"
    error_message = "name prefix must be <project>-<environment>"
  }

  assert {
    condition     = output.tags.Environment == "staging" && output.tags.ManagedBy == "terraform" && output.tags.Team == "ml"
    error_message = "mandatory tags must override caller tags and caller tags must be kept"
  }

  assert {
    condition     = output.context.is_local == false && output.context.namespace == "ml-platform"
    error_message = "context must carry is_local and namespace"
  }
}

run "local_is_local" {
  command = plan

  variables {
    environment = "local"
  }

  assert {
    condition     = output.is_local
    error_message = "local environment must be flagged is_local"
  }
}

run "rejects_unknown_environment" {
  command = plan

  variables {
    environment = "qa"
  }

  expect_failures = [var.environment]
}
