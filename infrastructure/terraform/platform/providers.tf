# Credentials come from the environment (MLP_TOKEN, or MLFLOW_TRACKING_USERNAME/PASSWORD of an
# admin), never from a file.
provider "mlp" {
  host            = var.mlp_host
  timeout_seconds = 30
}
