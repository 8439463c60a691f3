# MinIO in the Kind cluster (S3 API), non-root, with generated root
# credentials published to the ExternalSecrets source namespace, and a Job
# that creates the buckets. Versioning and lifecycle tiers need a
# multi-drive MinIO and are not reproduced locally; the cloud variant has them.

locals {
  name      = "minio"
  namespace = "${var.context.namespace}-minio"
  cfg       = var.storage_config
  labels = {
    "app.kubernetes.io/name"       = "minio"
    "app.kubernetes.io/instance"   = local.name
    "app.kubernetes.io/part-of"    = var.context.project
    "app.kubernetes.io/managed-by" = "terraform"
  }
  image        = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"
  mc_image     = "quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z"
  host         = "${local.name}.${local.namespace}.svc.cluster.local"
  secret       = "${var.context.name_prefix}-storage"
  bucket_names = { for b in local.cfg.buckets : b => "${var.context.name_prefix}-${b}" }
  resources    = { cpu = "250m", memory = "512Mi" }
}

resource "random_password" "access_key" {
  length  = 20
  special = false
}

resource "random_password" "secret_key" {
  length  = 40
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
    MINIO_ROOT_USER     = random_password.access_key.result
    MINIO_ROOT_PASSWORD = random_password.secret_key.result
  }
}

resource "kubernetes_secret_v1" "store" {
  metadata {
    name      = local.secret
    namespace = var.secret_store.kubernetes_namespace
    labels    = local.labels
  }
  data = {
    access_key_id     = random_password.access_key.result
    secret_access_key = random_password.secret_key.result
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
      name        = "s3"
      port        = 9000
      target_port = 9000
    }
    port {
      name        = "console"
      port        = 9001
      target_port = 9001
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
          run_as_user     = 1000
          run_as_group    = 1000
          fs_group        = 1000
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "minio"
          image             = local.image
          image_pull_policy = "IfNotPresent"
          args              = ["server", "/data", "--console-address", ":9001"]

          port {
            container_port = 9000
          }
          port {
            container_port = 9001
          }
          env_from {
            secret_ref {
              name = kubernetes_secret_v1.server.metadata[0].name
            }
          }
          env {
            name  = "MINIO_CONFIG_DIR"
            value = "/tmp/.minio"
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
            http_get {
              path = "/minio/health/live"
              port = 9000
            }
            initial_delay_seconds = 15
            period_seconds        = 10
          }
          readiness_probe {
            http_get {
              path = "/minio/health/ready"
              port = 9000
            }
            initial_delay_seconds = 5
            period_seconds        = 5
          }

          volume_mount {
            name       = "data"
            mount_path = "/data"
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
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
            storage = "${local.cfg.size}Gi"
          }
        }
      }
    }
  }
}

resource "kubernetes_job_v1" "buckets" {
  metadata {
    name      = "create-buckets"
    namespace = kubernetes_namespace_v1.this.metadata[0].name
    labels    = local.labels
  }

  spec {
    backoff_limit              = 6
    active_deadline_seconds    = 600
    ttl_seconds_after_finished = 3600

    template {
      metadata {
        labels = { "app.kubernetes.io/name" = "minio-create-buckets" }
      }
      spec {
        restart_policy                  = "OnFailure"
        automount_service_account_token = false
        security_context {
          run_as_non_root = true
          run_as_user     = 1000
          run_as_group    = 1000
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "mc"
          image             = local.mc_image
          image_pull_policy = "IfNotPresent"
          command = ["/bin/sh", "-ec", join(" && ", concat(
            ["mc alias set local http://${local.name}:9000 \"$MINIO_ROOT_USER\" \"$MINIO_ROOT_PASSWORD\""],
            [for b in values(local.bucket_names) : "mc mb --ignore-existing local/${b}"]
          ))]

          env_from {
            secret_ref {
              name = kubernetes_secret_v1.server.metadata[0].name
            }
          }
          env {
            name  = "MC_CONFIG_DIR"
            value = "/tmp/.mc"
          }

          resources {
            requests = { cpu = "50m", memory = "64Mi" }
            limits   = { cpu = "200m", memory = "128Mi" }
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            privileged                 = false
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "tmp"
          empty_dir {}
        }
      }
    }
  }

  wait_for_completion = true
  timeouts {
    create = "10m"
  }

  depends_on = [kubernetes_stateful_set_v1.this]
}
