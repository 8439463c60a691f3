locals {
  kube = {
    host                   = module.cluster.cluster.endpoint
    cluster_ca_certificate = module.cluster.cluster.certificate_authority
    client_certificate     = module.cluster.kubernetes_auth.client_certificate
    client_key             = module.cluster.kubernetes_auth.client_key
  }
}

provider "kind" {}

provider "docker" {}

provider "kubernetes" {
  host                   = local.kube.host
  cluster_ca_certificate = local.kube.cluster_ca_certificate
  client_certificate     = local.kube.client_certificate
  client_key             = local.kube.client_key
}

provider "helm" {
  kubernetes = {
    host                   = local.kube.host
    cluster_ca_certificate = local.kube.cluster_ca_certificate
    client_certificate     = local.kube.client_certificate
    client_key             = local.kube.client_key
  }
}

provider "kubectl" {
  host                   = local.kube.host
  cluster_ca_certificate = local.kube.cluster_ca_certificate
  client_certificate     = local.kube.client_certificate
  client_key             = local.kube.client_key
  load_config_file       = false
}
