# Authentication on: the teams' users and grants. Passwords come from the secret store as
# TF_VAR_user_passwords at apply time, never from this file.
environment = "dev"

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

grants = {
  # ml-engineer: the training experiments and the models they register to.
  "ml-digits"       = { username = "ml-engineer", resource_type = "experiment", resource = "digits", permission = "EDIT" }
  "ml-iris"         = { username = "ml-engineer", resource_type = "experiment", resource = "iris-logreg", permission = "EDIT" }
  "ml-digits-model" = { username = "ml-engineer", resource_type = "registered_model", resource = "digits-sgd", permission = "EDIT" }
  "ml-iris-model"   = { username = "ml-engineer", resource_type = "registered_model", resource = "iris-logreg", permission = "EDIT" }
  # data-engineer: the data-quality experiment, and reads the training results.
  "data-quality"     = { username = "data-engineer", resource_type = "experiment", resource = "data-quality", permission = "EDIT" }
  "data-digits-read" = { username = "data-engineer", resource_type = "experiment", resource = "digits", permission = "READ" }
  # release-bot: moves the champion alias after the smoke tests, in every environment.
  "release-digits" = { username = "release-bot", resource_type = "registered_model", resource = "digits-sgd", permission = "MANAGE" }
  "release-iris"   = { username = "release-bot", resource_type = "registered_model", resource = "iris-logreg", permission = "MANAGE" }
}
