provider "aws" {
  region = var.aws_region

  default_tags {
    tags = module.common.tags
  }
}

locals {
  kube = {
    host                   = module.cluster.cluster.endpoint
    cluster_ca_certificate = module.cluster.cluster.certificate_authority
    exec_api_version       = module.cluster.kubernetes_auth.exec_api_version
    exec_command           = module.cluster.kubernetes_auth.exec_command
    exec_args              = module.cluster.kubernetes_auth.exec_args
  }
}

provider "kubernetes" {
  host                   = local.kube.host
  cluster_ca_certificate = local.kube.cluster_ca_certificate

  exec {
    api_version = local.kube.exec_api_version
    command     = local.kube.exec_command
    args        = local.kube.exec_args
  }
}

provider "helm" {
  kubernetes = {
    host                   = local.kube.host
    cluster_ca_certificate = local.kube.cluster_ca_certificate

    exec = {
      api_version = local.kube.exec_api_version
      command     = local.kube.exec_command
      args        = local.kube.exec_args
    }
  }
}

provider "kubectl" {
  host                   = local.kube.host
  cluster_ca_certificate = local.kube.cluster_ca_certificate
  load_config_file       = false

  exec {
    api_version = local.kube.exec_api_version
    command     = local.kube.exec_command
    args        = local.kube.exec_args
  }
}
