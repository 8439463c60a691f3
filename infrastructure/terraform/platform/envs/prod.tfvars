# Authentication on: the teams' users, roles and grants. Passwords come from the secret store as
# TF_VAR_user_passwords at apply time, never from this file.
environment = "prod"

shared_experiments = {
  "digits"       = { tags = { team = "ml", purpose = "example training" } }
  "data-quality" = { tags = { team = "data", purpose = "data validation" } }
  "iris-logreg"  = { tags = { team = "ml" } }
}

registered_models = {
  "digits-sgd"  = { description = "SGD classifier on the digits data set (examples/train_job.py --register-as digits-sgd)." }
  "iris-logreg" = { description = "Logistic regression on iris (examples/train_sklearn.py --register-as iris-logreg)." }
}

manage_access = true

users = {
  "ml-engineer"   = {}
  "data-engineer" = {}
  "release-bot"   = {}
}

# The teams as roles: a team's grants are declared once, people join by membership.
roles = {
  "ml-engineers" = {
    description = "Training experiments and the models they register to."
    grants = {
      "run-jobs"     = { resource_type = "jobs", resource = "*", permission = "USE" }
      "digits"       = { resource_type = "experiment", resource = "digits", permission = "READ" }
      "iris"         = { resource_type = "experiment", resource = "iris-logreg", permission = "READ" }
      "digits-model" = { resource_type = "registered_model", resource = "digits-sgd", permission = "READ" }
      "iris-model"   = { resource_type = "registered_model", resource = "iris-logreg", permission = "READ" }
    }
    members = ["ml-engineer"]
  }
  "data-engineers" = {
    description = "The data-quality experiment, and reads the training results."
    grants = {
      "run-jobs"     = { resource_type = "jobs", resource = "*", permission = "USE" }
      "data-quality" = { resource_type = "experiment", resource = "data-quality", permission = "READ" }
      "digits-read"  = { resource_type = "experiment", resource = "digits", permission = "READ" }
    }
    members = ["data-engineer"]
  }
}

# Direct grants: release-bot moves the champion alias after the smoke tests, in every environment.
grants = {
  "release-digits" = { username = "release-bot", resource_type = "registered_model", resource = "digits-sgd", permission = "MANAGE" }
  "release-iris"   = { username = "release-bot", resource_type = "registered_model", resource = "iris-logreg", permission = "MANAGE" }
}
