# Karpenter controller (runs on the system / general managed nodes) and one
# NodePool per cluster_config.karpenter_node_pools entry: spot-first
# capacity with consolidation for training and data-processing jobs.

resource "helm_release" "karpenter" {
  name       = "karpenter"
  namespace  = "kube-system"
  repository = "oci://public.ecr.aws/karpenter"
  chart      = "karpenter"
  version    = var.chart_version
  wait       = true

  values = [yamlencode({
    settings = {
      clusterName       = var.cluster_name
      clusterEndpoint   = var.cluster_endpoint
      interruptionQueue = var.karpenter.interruption_queue_name
    }
    replicas = 2
    tolerations = [
      { key = "CriticalAddonsOnly", operator = "Exists", effect = "NoSchedule" }
    ]
    controller = {
      resources = {
        requests = { cpu = "250m", memory = "512Mi" }
        limits   = { cpu = "1", memory = "1Gi" }
      }
    }
  })]
}

resource "kubectl_manifest" "node_class" {
  yaml_body = yamlencode({
    apiVersion = "karpenter.k8s.aws/v1"
    kind       = "EC2NodeClass"
    metadata   = { name = "default" }
    spec = {
      role             = var.karpenter.node_role_name
      amiSelectorTerms = [{ alias = "al2023@latest" }]
      subnetSelectorTerms = [
        { tags = { "karpenter.sh/discovery" = var.karpenter.discovery_tag } }
      ]
      securityGroupSelectorTerms = [
        { tags = { "karpenter.sh/discovery" = var.karpenter.discovery_tag } }
      ]
      metadataOptions = {
        httpEndpoint            = "enabled"
        httpTokens              = "required"
        httpPutResponseHopLimit = 1
      }
      blockDeviceMappings = [{
        deviceName = "/dev/xvda"
        ebs = {
          volumeSize          = "100Gi"
          volumeType          = "gp3"
          encrypted           = true
          kmsKeyID            = var.karpenter.kms_key_arn
          deleteOnTermination = true
        }
      }]
      tags = var.context.tags
    }
  })

  depends_on = [helm_release.karpenter]
}

resource "kubectl_manifest" "node_pool" {
  for_each = var.node_pools

  yaml_body = yamlencode({
    apiVersion = "karpenter.sh/v1"
    kind       = "NodePool"
    metadata   = { name = each.key }
    spec = {
      weight = each.value.weight
      template = {
        metadata = { labels = each.value.labels }
        spec = {
          nodeClassRef = { group = "karpenter.k8s.aws", kind = "EC2NodeClass", name = "default" }
          taints       = each.value.taints
          expireAfter  = "720h"
          requirements = [
            { key = "karpenter.sh/capacity-type", operator = "In", values = each.value.capacity_types },
            { key = "karpenter.k8s.aws/instance-family", operator = "In", values = each.value.instance_families },
            { key = "kubernetes.io/arch", operator = "In", values = each.value.architectures },
          ]
        }
      }
      limits = merge(
        { cpu = tostring(each.value.cpu_limit), memory = "${each.value.memory_limit_gi}Gi" },
        each.value.gpu_limit > 0 ? { "nvidia.com/gpu" = tostring(each.value.gpu_limit) } : {}
      )
      disruption = {
        consolidationPolicy = "WhenEmptyOrUnderutilized"
        consolidateAfter    = each.value.consolidate_after
        # Never disrupt more than 10% of a pool's nodes at once.
        budgets = [{ nodes = "10%" }]
      }
    }
  })

  depends_on = [kubectl_manifest.node_class]
}
