# Cluster add-ons every cloud environment needs before the platform's own
# manifests can sync: the default StorageClass (PVCs of Prometheus, Grafana
# and the local stores), the NVIDIA device plugin (GPU nodes advertise
# nvidia.com/gpu only with it), Velero (the overlays ship velero.io
# Schedules) and Argo CD with this cluster registered (the overlays are
# synced by it).

locals {
  labels = {
    "app.kubernetes.io/part-of"    = var.context.project
    "app.kubernetes.io/managed-by" = "terraform"
  }
  velero_namespace = "velero"
  argocd_namespace = "argocd"
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# EKS >= 1.30 has no default StorageClass: without one every PVC stays
# Pending and the Helm releases that wait for their pods fail the apply.
resource "kubernetes_storage_class_v1" "gp3" {
  metadata {
    name = "gp3"
    annotations = {
      "storageclass.kubernetes.io/is-default-class" = "true"
    }
    labels = local.labels
  }
  storage_provisioner    = "ebs.csi.aws.com"
  reclaim_policy         = "Delete"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true
  parameters = {
    type      = "gp3"
    encrypted = "true"
  }
}

resource "helm_release" "nvidia_device_plugin" {
  count = var.gpu_enabled ? 1 : 0

  name             = "nvidia-device-plugin"
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = var.chart_versions.nvidia
  wait             = false # scales with the GPU nodes, which may be zero

  values = [yamlencode({
    # Only GPU nodes (the label env-config gives them); tolerate their taints.
    nodeSelector = { "nvidia.com/gpu.present" = "true" }
    tolerations = [
      { key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" },
      { key = "ml-platform/workload", operator = "Exists", effect = "NoSchedule" },
    ]
  })]
}

# --- Velero: Pod Identity role on the backups bucket only -----------------
resource "aws_iam_role" "velero" {
  name = "${var.context.name_prefix}-velero"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
  tags = var.context.tags
}

resource "aws_iam_role_policy" "velero" {
  name = "velero-backups"
  role = aws_iam_role.velero.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Objects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = "${var.backups.bucket_arn}/velero/*"
      },
      {
        Sid      = "Bucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = var.backups.bucket_arn
      },
      {
        Sid      = "Kms"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.backups.kms_key_arn
      },
      {
        Sid      = "DescribeVolumes"
        Effect   = "Allow"
        Action   = ["ec2:DescribeVolumes", "ec2:DescribeSnapshots"]
        Resource = "*"
      },
      {
        # EBS snapshots of the PVCs (snapshotVolumes in the Schedules): this
        # account's volumes and snapshots in this region only.
        Sid    = "Snapshots"
        Effect = "Allow"
        Action = ["ec2:CreateTags", "ec2:CreateVolume", "ec2:CreateSnapshot", "ec2:DeleteSnapshot"]
        Resource = [
          "arn:${data.aws_partition.current.partition}:ec2:${var.backups.region}:${data.aws_caller_identity.current.account_id}:volume/*",
          "arn:${data.aws_partition.current.partition}:ec2:${var.backups.region}::snapshot/*",
        ]
      }
    ]
  })
}

resource "aws_eks_pod_identity_association" "velero" {
  cluster_name    = var.cluster_name
  namespace       = local.velero_namespace
  service_account = "velero-server"
  role_arn        = aws_iam_role.velero.arn
  tags            = var.context.tags
}

resource "helm_release" "velero" {
  name             = "velero"
  namespace        = local.velero_namespace
  create_namespace = true
  repository       = "https://vmware-tanzu.github.io/helm-charts"
  chart            = "velero"
  version          = var.chart_versions.velero
  wait             = true
  # Pod Identity injects credentials only into pods created after the association.
  depends_on = [aws_eks_pod_identity_association.velero]

  values = [yamlencode({
    serviceAccount = { server = { create = true, name = "velero-server" } }
    initContainers = [{
      name            = "velero-plugin-for-aws"
      image           = "velero/velero-plugin-for-aws:${var.chart_versions.velero_aws}"
      volumeMounts    = [{ mountPath = "/target", name = "plugins" }]
      securityContext = { allowPrivilegeEscalation = false, capabilities = { drop = ["ALL"] } }
    }]
    configuration = {
      backupStorageLocation = [{
        name     = "default"
        provider = "aws"
        bucket   = var.backups.bucket
        prefix   = "velero"
        default  = true
        config   = { region = var.backups.region, kmsKeyId = var.backups.kms_key_arn }
      }]
      volumeSnapshotLocation = [{
        name     = "default"
        provider = "aws"
        config   = { region = var.backups.region }
      }]
    }
    credentials = { useSecret = false }
    tolerations = [{ key = "CriticalAddonsOnly", operator = "Exists", effect = "NoSchedule" }]
  })]
}

# --- Argo CD, with this cluster registered --------------------------------
resource "helm_release" "argocd" {
  name             = "argocd"
  namespace        = local.argocd_namespace
  create_namespace = true
  repository       = "https://argoproj.github.io/argo-helm"
  chart            = "argo-cd"
  version          = var.chart_versions.argocd
  wait             = true

  values = [yamlencode({
    global  = { tolerations = [{ key = "CriticalAddonsOnly", operator = "Exists", effect = "NoSchedule" }] }
    configs = { params = { "server.insecure" = false } }
  })]
}

# The in-cluster destination as an explicit cluster secret, named after the
# environment and carrying the Terraform outputs as annotations (GitOps
# Bridge): ApplicationSets and tooling read them from here instead of from a
# committed file. `mlp infra deploy` also writes them into the overlay.
resource "kubernetes_secret_v1" "cluster" {
  metadata {
    name      = "cluster-${var.context.environment}"
    namespace = local.argocd_namespace
    labels = merge(local.labels, {
      "argocd.argoproj.io/secret-type" = "cluster"
      "environment"                    = var.context.environment
    })
    annotations = var.argocd.infra_outputs
  }
  data = {
    # The destination name of infrastructure/kubernetes/argocd/apps/<project>-<env>.yaml.
    name   = var.context.name_prefix
    server = "https://kubernetes.default.svc"
    config = jsonencode({ tlsClientConfig = { insecure = false } })
  }
  depends_on = [helm_release.argocd]
}

# The environment's own Application (and the AppProject it belongs to), from
# infrastructure/kubernetes/argocd/apps: only these two files, so a cluster's
# Argo CD never holds the other environments' Applications.
resource "helm_release" "argocd_root" {
  name       = "argocd-bootstrap"
  namespace  = local.argocd_namespace
  repository = "https://argoproj.github.io/argo-helm"
  chart      = "argocd-apps"
  version    = var.chart_versions.argocd_apps
  depends_on = [kubernetes_secret_v1.cluster]

  values = [yamlencode({
    applications = {
      "${var.context.name_prefix}-bootstrap" = {
        namespace = local.argocd_namespace
        project   = "default"
        source = {
          repoURL        = var.argocd.repo_url
          targetRevision = var.argocd.target_revision
          path           = "infrastructure/kubernetes/argocd/apps"
          directory      = { include = "{project.yaml,${var.context.name_prefix}.yaml}" }
        }
        destination = { server = "https://kubernetes.default.svc", namespace = local.argocd_namespace }
        syncPolicy  = { automated = { prune = true, selfHeal = true } }
      }
    }
  })]
}
