# Local registry for Kind, following kind's documented pattern: a registry
# container bound to 127.0.0.1:5001, attached to the "kind" docker network,
# and advertised to tooling through the local-registry-hosting ConfigMap
# (KEP-1755). Nodes resolve localhost:5001 to the container through the
# containerd hosts.toml written by modules/cluster/kind's config_path patch
# and `infrastructure/scripts/deploy-environment.sh` (see README).

locals {
  name = "kind-registry"
  port = 5001
  host = "localhost:${local.port}"
}

resource "docker_image" "registry" {
  name         = "docker.io/library/registry:3.0.0"
  keep_locally = true
}

resource "docker_container" "registry" {
  name    = local.name
  image   = docker_image.registry.image_id
  restart = "always"

  ports {
    internal = 5000
    external = local.port
    ip       = "127.0.0.1"
  }

  networks_advanced {
    name = "kind"
  }

  labels {
    label = "app.kubernetes.io/part-of"
    value = var.context.project
  }
}

resource "kubernetes_config_map_v1" "local_registry_hosting" {
  metadata {
    name      = "local-registry-hosting"
    namespace = "kube-public"
  }

  data = {
    "localRegistryHosting.v1" = yamlencode({
      host = local.host
      help = "https://kind.sigs.k8s.io/docs/user/local-registry/"
    })
  }
}
