# F5 NGINX Ingress Controller for Kind (the same chart, release and namespace
# as `mlp infra up local`, and what the local NetworkPolicies admit:
# namespace nginx-ingress, pods app.kubernetes.io/name=nginx-ingress; the
# community ingress-nginx is retired). It runs on the control-plane node
# labelled ingress-ready=true, bound to host ports 80/443 that
# modules/cluster/kind maps to 127.0.0.1.

resource "helm_release" "this" {
  name             = "nginx-ingress"
  namespace        = "nginx-ingress"
  create_namespace = true
  repository       = "oci://ghcr.io/nginx/charts"
  chart            = "nginx-ingress"
  version          = "2.2.2"
  wait             = true

  values = [yamlencode({
    controller = {
      kind         = "deployment"
      replicaCount = var.ingress_config.replicas
      ingressClass = {
        name                = "nginx"
        setAsDefaultIngress = false
      }
      hostPort     = { enable = true }
      service      = { type = "ClusterIP" }
      nodeSelector = { "ingress-ready" = "true", "kubernetes.io/os" = "linux" }
      tolerations = [
        { key = "node-role.kubernetes.io/control-plane", operator = "Exists", effect = "NoSchedule" }
      ]
    }
  })]
}
