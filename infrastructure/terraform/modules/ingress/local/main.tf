# NGINX ingress controller for Kind: runs on the control-plane node
# labelled ingress-ready=true, bound to host ports 80/443 that
# modules/cluster/kind maps to 127.0.0.1.
# Note: upstream ingress-nginx is retired (no releases after March 2026);
# workloads use plain networking.k8s.io/v1 Ingress objects, so swapping the
# local controller (e.g. for cloud-provider-kind) does not touch them.

resource "helm_release" "this" {
  name             = "ingress-nginx"
  namespace        = "ingress-nginx"
  create_namespace = true
  repository       = "https://kubernetes.github.io/ingress-nginx"
  chart            = "ingress-nginx"
  version          = "4.12.1"
  wait             = true

  values = [yamlencode({
    controller = {
      replicaCount = var.ingress_config.replicas
      ingressClassResource = {
        name    = "nginx"
        default = true
      }
      hostPort     = { enabled = true }
      service      = { type = "NodePort" }
      nodeSelector = { "ingress-ready" = "true", "kubernetes.io/os" = "linux" }
      tolerations = [
        { key = "node-role.kubernetes.io/control-plane", operator = "Exists", effect = "NoSchedule" }
      ]
      publishService           = { enabled = false }
      extraArgs                = { "publish-status-address" = "localhost" }
      watchIngressWithoutClass = true
    }
  })]
}
