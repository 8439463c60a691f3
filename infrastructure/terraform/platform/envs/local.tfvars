# Kind / the embedded default: authentication off, so no users or grants.
environment = "local"

shared_experiments = {
  # `mlp job submit --experiment digits` (examples/train_job.py as a job)
  "digits" = { tags = { team = "ml", purpose = "example training" } }
  # `mlp job submit --experiment data-quality` (examples/data-profile)
  "data-quality" = { tags = { team = "data", purpose = "data validation" } }
  # examples/train_sklearn.py by hand, and the compat suite
  "iris-logreg" = { tags = { team = "ml" } }
}

registered_models = {
  "digits-sgd"  = { description = "SGD classifier on the digits data set (examples/train_job.py --register-as digits-sgd)." }
  "iris-logreg" = { description = "Logistic regression on iris (examples/train_sklearn.py --register-as iris-logreg)." }
}

manage_access = false
