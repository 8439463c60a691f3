# AWS Load Balancer Controller: turns `ingressClassName: alb` Ingress
# objects into ALBs. Its IAM role is bound through EKS Pod Identity and
# follows the upstream reference policy: writes are limited to resources
# tagged elbv2.k8s.aws/cluster; Resource "*" only for read-only calls and
# for creations guarded by a request-tag condition.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition   = data.aws_partition.current.partition
  region      = data.aws_region.current.id
  account     = data.aws_caller_identity.current.account_id
  cluster_tag = "elbv2.k8s.aws/cluster"
  elb_arn     = "arn:${local.partition}:elasticloadbalancing:${local.region}:${local.account}"
}

resource "aws_iam_role" "controller" {
  name = "${var.cluster.name}-aws-lb-controller"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
      Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
    }]
  })
  tags = var.context.tags
}

resource "aws_iam_role_policy" "controller" {
  name = "aws-load-balancer-controller"
  role = aws_iam_role.controller.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ServiceLinkedRole"
        Effect    = "Allow"
        Action    = "iam:CreateServiceLinkedRole"
        Resource  = "arn:${local.partition}:iam::${local.account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/*"
        Condition = { StringEquals = { "iam:AWSServiceName" = "elasticloadbalancing.amazonaws.com" } }
      },
      {
        Sid    = "ReadOnly"
        Effect = "Allow"
        Action = [
          "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
          "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
          "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
          "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage",
          "ec2:DescribeCoipPools", "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools",
          "ec2:DescribeRouteTables",
          "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
          "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
          "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
          "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
          "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
          "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
          "elasticloadbalancing:DescribeCapacityReservation",
          "acm:ListCertificates", "acm:DescribeCertificate",
          "iam:ListServerCertificates", "iam:GetServerCertificate",
          "cognito-idp:DescribeUserPoolClient",
          "waf-regional:GetWebACL", "waf-regional:GetWebACLForResource",
          "wafv2:GetWebACL", "wafv2:GetWebACLForResource",
          "shield:GetSubscriptionState", "shield:DescribeProtection",
        ]
        Resource = "*"
      },
      {
        Sid       = "CreateSecurityGroup"
        Effect    = "Allow"
        Action    = "ec2:CreateSecurityGroup"
        Resource  = ["arn:${local.partition}:ec2:${local.region}:${local.account}:security-group/*", "arn:${local.partition}:ec2:${local.region}:${local.account}:vpc/${var.cluster.vpc_id}"]
        Condition = { StringEquals = { "aws:RequestTag/${local.cluster_tag}" = var.cluster.name } }
      },
      {
        Sid       = "TagNewSecurityGroups"
        Effect    = "Allow"
        Action    = "ec2:CreateTags"
        Resource  = "arn:${local.partition}:ec2:${local.region}:${local.account}:security-group/*"
        Condition = { StringEquals = { "ec2:CreateAction" = "CreateSecurityGroup", "aws:RequestTag/${local.cluster_tag}" = var.cluster.name } }
      },
      {
        Sid       = "ManageOwnSecurityGroups"
        Effect    = "Allow"
        Action    = ["ec2:CreateTags", "ec2:DeleteTags", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"]
        Resource  = "arn:${local.partition}:ec2:${local.region}:${local.account}:security-group/*"
        Condition = { StringEquals = { "aws:ResourceTag/${local.cluster_tag}" = var.cluster.name } }
      },
      {
        Sid       = "CreateLoadBalancers"
        Effect    = "Allow"
        Action    = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]
        Resource  = ["${local.elb_arn}:loadbalancer/app/*", "${local.elb_arn}:loadbalancer/net/*", "${local.elb_arn}:targetgroup/*/*"]
        Condition = { StringEquals = { "aws:RequestTag/${local.cluster_tag}" = var.cluster.name } }
      },
      {
        Sid    = "ManageListenersAndRules"
        Effect = "Allow"
        Action = [
          "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
          "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
        ]
        Resource = ["${local.elb_arn}:loadbalancer/app/*", "${local.elb_arn}:loadbalancer/net/*", "${local.elb_arn}:listener/*", "${local.elb_arn}:listener-rule/*"]
      },
      {
        Sid    = "TagLoadBalancers"
        Effect = "Allow"
        Action = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
        Resource = [
          "${local.elb_arn}:targetgroup/*/*", "${local.elb_arn}:loadbalancer/net/*/*", "${local.elb_arn}:loadbalancer/app/*/*",
          "${local.elb_arn}:listener/net/*/*/*", "${local.elb_arn}:listener/app/*/*/*",
          "${local.elb_arn}:listener-rule/net/*/*/*", "${local.elb_arn}:listener-rule/app/*/*/*",
        ]
        Condition = { StringEquals = { "aws:ResourceTag/${local.cluster_tag}" = var.cluster.name } }
      },
      {
        Sid    = "ModifyOwnLoadBalancers"
        Effect = "Allow"
        Action = [
          "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
          "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
          "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
          "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
          "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
          "elasticloadbalancing:ModifyIpPools",
        ]
        Resource  = ["${local.elb_arn}:loadbalancer/app/*", "${local.elb_arn}:loadbalancer/net/*", "${local.elb_arn}:targetgroup/*/*"]
        Condition = { StringEquals = { "aws:ResourceTag/${local.cluster_tag}" = var.cluster.name } }
      },
      {
        Sid       = "TagOnCreate"
        Effect    = "Allow"
        Action    = "elasticloadbalancing:AddTags"
        Resource  = ["${local.elb_arn}:targetgroup/*/*", "${local.elb_arn}:loadbalancer/net/*/*", "${local.elb_arn}:loadbalancer/app/*/*"]
        Condition = { StringEquals = { "elasticloadbalancing:CreateAction" = ["CreateTargetGroup", "CreateLoadBalancer"], "aws:RequestTag/${local.cluster_tag}" = var.cluster.name } }
      },
      {
        Sid      = "RegisterTargets"
        Effect   = "Allow"
        Action   = ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]
        Resource = "${local.elb_arn}:targetgroup/*/*"
      },
      {
        Sid    = "ManageListenerSettings"
        Effect = "Allow"
        Action = [
          "elasticloadbalancing:SetWebAcl", "elasticloadbalancing:ModifyListener",
          "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
          "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities",
        ]
        Resource = ["${local.elb_arn}:loadbalancer/app/*", "${local.elb_arn}:listener/*", "${local.elb_arn}:listener-rule/*"]
      }
    ]
  })
}

# TLS certificate for the platform host. DNS validation: create the records
# from the certificate_validation output in the zone that serves the host.
resource "aws_acm_certificate" "this" {
  domain_name       = var.ingress_config.host
  validation_method = "DNS"
  tags              = var.context.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_eks_pod_identity_association" "controller" {
  cluster_name    = var.cluster.name
  namespace       = "kube-system"
  service_account = "aws-load-balancer-controller"
  role_arn        = aws_iam_role.controller.arn
  tags            = var.context.tags
}

resource "helm_release" "this" {
  name       = "aws-load-balancer-controller"
  namespace  = "kube-system"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-load-balancer-controller"
  version    = "1.13.2"
  wait       = true

  values = [yamlencode({
    clusterName  = var.cluster.name
    region       = local.region
    vpcId        = var.cluster.vpc_id
    replicaCount = var.ingress_config.replicas
    serviceAccount = {
      create = true
      name   = "aws-load-balancer-controller"
    }
    ingressClassConfig = { default = true }
    tolerations = [
      { key = "CriticalAddonsOnly", operator = "Exists", effect = "NoSchedule" }
    ]
    defaultTags = var.context.tags
  })]

  depends_on = [aws_eks_pod_identity_association.controller]
}
