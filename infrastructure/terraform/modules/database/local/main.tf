# PostgreSQL in the Kind cluster: a single-replica StatefulSet with a
# persistent volume, running as non-root with a read-only root filesystem.
# The password is generated (random_password) and written to a Kubernetes
# Secret in the server's namespace and in the ExternalSecrets source
# namespace, so consumers fetch it exactly as they do in the cloud.
# Backups of this database belong to the Kubernetes manifests (pg_dump CronJob).

locals {
  name      = "postgres"
  namespace = "${var.context.namespace}-postgres"
  cfg       = var.database_config
  labels = {
    "app.kubernetes.io/name"       = "postgresql"
    "app.kubernetes.io/instance"   = local.name
    "app.kubernetes.io/part-of"    = var.context.project
    "app.kubernetes.io/managed-by" = "terraform"
  }
  image     = "docker.io/library/postgres:${local.cfg.version}.6"
  host      = "${local.name}.${local.namespace}.svc.cluster.local"
  secret    = "${var.context.name_prefix}-database"
  resources = local.cfg.instance_class == "local" ? { cpu = "250m", memory = "512Mi" } : { cpu = "1", memory = "2Gi" }
}

resource "random_password" "this" {
  length  = 32
  special = false
}

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name = local.namespace
    labels = merge(local.labels, {
      "pod-security.kubernetes.io/enforce" = "restricted"
    })
  }
}

resource "kubernetes_secret_v1" "server" {
  metadata {
    name      = "${local.name}-credentials"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.labels
  }
  data = {
    username = local.cfg.credentials.username
    password = random_password.this.result
  }
}

# Copy in the ExternalSecrets source namespace (read by the ClusterSecretStore).
resource "kubernetes_secret_v1" "store" {
  metadata {
    name      = local.secret
    namespace = var.secret_store.kubernetes_namespace
    labels    = local.labels
  }
  data = {
    username = local.cfg.credentials.username
    password = random_password.this.result
  }
}

resource "kubernetes_service_v1" "this" {
  metadata {
    name      = local.name
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.labels
  }
  spec {
    selector = local.labels
    port {
      name        = "postgres"
      port        = 5432
      target_port = 5432
    }
  }
}

resource "kubernetes_stateful_set_v1" "this" {
  metadata {
    name      = local.name
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.labels
  }

  spec {
    service_name = kubernetes_service_v1.this.metadata[0].name
    replicas     = 1
    selector {
      match_labels = local.labels
    }

    template {
      metadata {
        labels = local.labels
      }
      spec {
        automount_service_account_token = false
        security_context {
          run_as_non_root = true
          run_as_user     = 999
          run_as_group    = 999
          fs_group        = 999
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "postgres"
          image             = local.image
          image_pull_policy = "IfNotPresent"

          port {
            container_port = 5432
          }
          env {
            name  = "POSTGRES_DB"
            value = local.cfg.database
          }
          env {
            name = "POSTGRES_USER"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.server.metadata[0].name
                key  = "username"
              }
            }
          }
          env {
            name = "POSTGRES_PASSWORD"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.server.metadata[0].name
                key  = "password"
              }
            }
          }
          env {
            name  = "PGDATA"
            value = "/var/lib/postgresql/data/pgdata"
          }

          resources {
            requests = local.resources
            limits   = local.resources
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            privileged                 = false
            capabilities {
              drop = ["ALL"]
            }
          }

          liveness_probe {
            exec {
              command = ["pg_isready", "-U", local.cfg.credentials.username, "-d", local.cfg.database]
            }
            initial_delay_seconds = 30
            period_seconds        = 10
          }
          readiness_probe {
            exec {
              command = ["pg_isready", "-U", local.cfg.credentials.username, "-d", local.cfg.database]
            }
            initial_delay_seconds = 5
            period_seconds        = 5
          }

          volume_mount {
            name       = "data"
            mount_path = "/var/lib/postgresql/data"
          }
          volume_mount {
            name       = "run"
            mount_path = "/var/run/postgresql"
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "run"
          empty_dir {}
        }
        volume {
          name = "tmp"
          empty_dir {}
        }
      }
    }

    volume_claim_template {
      metadata {
        name = "data"
      }
      spec {
        access_modes = ["ReadWriteOnce"]
        resources {
          requests = {
            storage = "${local.cfg.storage_size}Gi"
          }
        }
      }
    }
  }
}
