# Kind cluster for the local environment. Node groups are simulated: one
# worker per entry of cluster_config.node_groups, carrying the same labels
# and taints as the EKS node groups, so nodeSelectors and tolerations
# behave the same. Kind's Node type has no taints field, so taints are set
# through a per-node kubeadm JoinConfiguration patch. The control plane
# is labelled ingress-ready and maps ports 80/443 to localhost for NGINX.

locals {
  # kind release node images per Kubernetes minor version.
  node_images = {
    "1.31" = "kindest/node:v1.31.6"
    "1.32" = "kindest/node:v1.32.2"
    "1.33" = "kindest/node:v1.33.1"
  }

  workers = flatten([
    for name, g in var.cluster_config.node_groups : [
      for i in range(g.desired_size) : { group = name, index = i, labels = g.labels, taints = g.taints }
    ]
  ])

  listen_address = "127.0.0.1"
}

resource "terraform_data" "supported_version" {
  lifecycle {
    precondition {
      condition     = contains(keys(local.node_images), var.cluster_config.kubernetes_version)
      error_message = "No kind node image is pinned for this Kubernetes version."
    }
  }
}

resource "kind_cluster" "this" {
  name           = var.cluster_config.name
  node_image     = local.node_images[var.cluster_config.kubernetes_version]
  wait_for_ready = true

  kind_config {
    kind        = "Cluster"
    api_version = "kind.x-k8s.io/v1alpha4"

    # Local registry (modules/registry/local): containerd reads per-registry
    # hosts.toml files from this directory.
    containerd_config_patches = [
      <<-TOML
      [plugins."io.containerd.grpc.v1.cri".registry]
        config_path = "/etc/containerd/certs.d"
      TOML
    ]

    networking {
      api_server_address = local.listen_address
    }

    node {
      role = "control-plane"
      labels = {
        "ingress-ready" = "true"
      }
      extra_port_mappings {
        container_port = 80
        host_port      = 80
        listen_address = local.listen_address
        protocol       = "TCP"
      }
      extra_port_mappings {
        container_port = 443
        host_port      = 443
        listen_address = local.listen_address
        protocol       = "TCP"
      }
    }

    dynamic "node" {
      for_each = local.workers
      content {
        role   = "worker"
        labels = node.value.labels
        kubeadm_config_patches = length(node.value.taints) == 0 ? [] : [
          yamlencode({
            kind = "JoinConfiguration"
            nodeRegistration = {
              taints = [for t in node.value.taints : { key = t.key, value = t.value, effect = t.effect }]
            }
          })
        ]
      }
    }
  }

  depends_on = [terraform_data.supported_version]
}
