variable "context" {
  description = "Naming and tagging context from modules/common (context output)."
  type = object({
    project     = string
    environment = string
    name_prefix = string
    namespace   = string
    is_local    = bool
    tags        = map(string)
  })
}

variable "cluster_name" {
  description = "EKS cluster the add-ons are installed into."
  type        = string
}

variable "gpu_enabled" {
  description = "Some node group or Karpenter pool offers GPUs: install the NVIDIA device plugin so those nodes advertise nvidia.com/gpu."
  type        = bool
}

variable "backups" {
  description = "Bucket Velero writes to (the storage module's backups bucket) and the KMS key encrypting it."
  type = object({
    bucket      = string
    bucket_arn  = string
    kms_key_arn = string
    region      = string
  })
}

variable "argocd" {
  description = "Where Argo CD finds the platform's Applications, and the Terraform outputs the overlays need (set as annotations on the in-cluster Argo CD cluster secret: the GitOps Bridge pattern)."
  type = object({
    repo_url        = string
    target_revision = string
    infra_outputs   = map(string)
  })
}

variable "chart_versions" {
  description = "Pinned Helm chart versions."
  type = object({
    argocd      = string
    velero      = string
    nvidia      = string
    velero_aws  = string
    argocd_apps = string
  })
  default = {
    argocd      = "8.1.3"
    velero      = "10.0.8"
    nvidia      = "0.17.2"
    velero_aws  = "v1.12.1"
    argocd_apps = "2.0.2"
  }
}
