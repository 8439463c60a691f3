# Redis in the Kind cluster: single-replica StatefulSet with persistence
# (AOF), non-root, read-only root filesystem. The password is generated
# (random_password) and published to the ExternalSecrets source namespace.

locals {
  name      = "redis"
  namespace = "${var.context.namespace}-redis"
  cfg       = var.cache_config
  labels = {
    "app.kubernetes.io/name"       = "redis"
    "app.kubernetes.io/instance"   = local.name
    "app.kubernetes.io/part-of"    = var.context.project
    "app.kubernetes.io/managed-by" = "terraform"
  }
  image     = "docker.io/library/redis:${local.cfg.version == "7.1" ? "7.4.2" : local.cfg.version}"
  host      = "${local.name}.${local.namespace}.svc.cluster.local"
  secret    = "${var.context.name_prefix}-cache"
  resources = { cpu = "250m", memory = "256Mi" }
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
    password = random_password.this.result
  }
}

resource "kubernetes_secret_v1" "store" {
  metadata {
    name      = local.secret
    namespace = var.secret_store.kubernetes_namespace
    labels    = local.labels
  }
  data = {
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
      name        = "redis"
      port        = 6379
      target_port = 6379
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
          name              = "redis"
          image             = local.image
          image_pull_policy = "IfNotPresent"
          # $(REDIS_PASSWORD) is Kubernetes' own env-var expansion in args,
          # resolved by the kubelet from the Secret below, not by Terraform.
          args = ["--appendonly", "yes", "--requirepass", "$(REDIS_PASSWORD)"]

          port {
            container_port = 6379
          }
          env {
            name = "REDIS_PASSWORD"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.server.metadata[0].name
                key  = "password"
              }
            }
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
            tcp_socket {
              port = 6379
            }
            initial_delay_seconds = 15
            period_seconds        = 10
          }
          readiness_probe {
            tcp_socket {
              port = 6379
            }
            initial_delay_seconds = 5
            period_seconds        = 5
          }

          volume_mount {
            name       = "data"
            mount_path = "/data"
          }
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
            storage = "1Gi"
          }
        }
      }
    }
  }
}
