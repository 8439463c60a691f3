# AWS side of Karpenter: controller role (Pod Identity), node role with an
# EC2_LINUX access entry, SQS interruption queue fed by EventBridge. The
# Helm release and NodePools live in modules/cluster/karpenter.

resource "aws_iam_role" "karpenter_node" {
  name = "${local.name}-karpenter-node"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.context.tags
}

resource "aws_iam_role_policy_attachment" "karpenter_node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
  ])
  role       = aws_iam_role.karpenter_node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_eks_access_entry" "karpenter_node" {
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = aws_iam_role.karpenter_node.arn
  type          = "EC2_LINUX"
  tags          = var.context.tags
}

resource "aws_sqs_queue" "karpenter" {
  name                      = "${local.name}-karpenter"
  message_retention_seconds = 300
  sqs_managed_sse_enabled   = true
  tags                      = var.context.tags
}

resource "aws_sqs_queue_policy" "karpenter" {
  queue_url = aws_sqs_queue.karpenter.url
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgeWrite"
        Effect    = "Allow"
        Principal = { Service = ["events.amazonaws.com", "sqs.amazonaws.com"] }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.karpenter.arn
      },
      {
        Sid       = "DenyHTTP"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.karpenter.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }
    ]
  })
}

locals {
  karpenter_events = {
    health_event          = { source = ["aws.health"], "detail-type" = ["AWS Health Event"] }
    spot_interruption     = { source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] }
    instance_rebalance    = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance Rebalance Recommendation"] }
    instance_state_change = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance State-change Notification"] }
  }
}

resource "aws_cloudwatch_event_rule" "karpenter" {
  for_each      = local.karpenter_events
  name          = "${local.name}-karpenter-${replace(each.key, "_", "-")}"
  event_pattern = jsonencode(each.value)
  tags          = var.context.tags
}

resource "aws_cloudwatch_event_target" "karpenter" {
  for_each  = local.karpenter_events
  rule      = aws_cloudwatch_event_rule.karpenter[each.key].name
  target_id = "KarpenterInterruptionQueue"
  arn       = aws_sqs_queue.karpenter.arn
}

resource "aws_iam_role" "karpenter_controller" {
  name               = "${local.name}-karpenter-controller"
  assume_role_policy = local.pod_identity_trust
  tags               = var.context.tags
}

locals {
  ec2_arn        = "arn:${local.partition}:ec2:${local.region}"
  cluster_tag    = "aws:ResourceTag/kubernetes.io/cluster/${local.name}"
  request_tag    = "aws:RequestTag/kubernetes.io/cluster/${local.name}"
  region_matches = { "aws:RequestedRegion" = local.region }
}

# Scoped as in Karpenter's reference CloudFormation policy: mutating calls
# are limited to resources tagged for this cluster; Resource "*" is used
# only for read-only Describe/Get calls that do not support resource ARNs.
resource "aws_iam_role_policy" "karpenter_controller" {
  name = "karpenter-controller"
  role = aws_iam_role.karpenter_controller.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "AllowScopedEC2InstanceAccessActions"
        Effect = "Allow"
        Action = ["ec2:RunInstances", "ec2:CreateFleet"]
        Resource = [
          "${local.ec2_arn}::image/*",
          "${local.ec2_arn}::snapshot/*",
          "${local.ec2_arn}:*:security-group/*",
          "${local.ec2_arn}:*:subnet/*",
          "${local.ec2_arn}:*:capacity-reservation/*",
        ]
      },
      {
        Sid       = "AllowScopedEC2LaunchTemplateAccessActions"
        Effect    = "Allow"
        Action    = ["ec2:RunInstances", "ec2:CreateFleet"]
        Resource  = "${local.ec2_arn}:*:launch-template/*"
        Condition = { StringEquals = { (local.cluster_tag) = "owned" }, StringLike = { "aws:ResourceTag/karpenter.sh/nodepool" = "*" } }
      },
      {
        Sid    = "AllowScopedEC2InstanceActionsWithTags"
        Effect = "Allow"
        Action = ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"]
        Resource = [
          "${local.ec2_arn}:*:fleet/*",
          "${local.ec2_arn}:*:instance/*",
          "${local.ec2_arn}:*:volume/*",
          "${local.ec2_arn}:*:network-interface/*",
          "${local.ec2_arn}:*:launch-template/*",
          "${local.ec2_arn}:*:spot-instances-request/*",
        ]
        Condition = { StringEquals = { (local.request_tag) = "owned" }, StringLike = { "aws:RequestTag/karpenter.sh/nodepool" = "*" } }
      },
      {
        Sid    = "AllowScopedResourceCreationTagging"
        Effect = "Allow"
        Action = "ec2:CreateTags"
        Resource = [
          "${local.ec2_arn}:*:fleet/*",
          "${local.ec2_arn}:*:instance/*",
          "${local.ec2_arn}:*:volume/*",
          "${local.ec2_arn}:*:network-interface/*",
          "${local.ec2_arn}:*:launch-template/*",
          "${local.ec2_arn}:*:spot-instances-request/*",
        ]
        Condition = {
          StringEquals = { (local.request_tag) = "owned", "ec2:CreateAction" = ["RunInstances", "CreateFleet", "CreateLaunchTemplate"] }
          StringLike   = { "aws:RequestTag/karpenter.sh/nodepool" = "*" }
        }
      },
      {
        Sid       = "AllowScopedResourceTagging"
        Effect    = "Allow"
        Action    = "ec2:CreateTags"
        Resource  = "${local.ec2_arn}:*:instance/*"
        Condition = { StringEquals = { (local.cluster_tag) = "owned" }, StringLike = { "aws:ResourceTag/karpenter.sh/nodepool" = "*" } }
      },
      {
        Sid       = "AllowScopedDeletion"
        Effect    = "Allow"
        Action    = ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"]
        Resource  = ["${local.ec2_arn}:*:instance/*", "${local.ec2_arn}:*:launch-template/*"]
        Condition = { StringEquals = { (local.cluster_tag) = "owned" }, StringLike = { "aws:ResourceTag/karpenter.sh/nodepool" = "*" } }
      },
      {
        Sid    = "AllowRegionalReadActions"
        Effect = "Allow"
        Action = [
          "ec2:DescribeAvailabilityZones",
          "ec2:DescribeImages",
          "ec2:DescribeInstances",
          "ec2:DescribeInstanceTypeOfferings",
          "ec2:DescribeInstanceTypes",
          "ec2:DescribeLaunchTemplates",
          "ec2:DescribeSecurityGroups",
          "ec2:DescribeSpotPriceHistory",
          "ec2:DescribeSubnets",
          "ec2:DescribeCapacityReservations",
        ]
        Resource  = "*"
        Condition = { StringEquals = local.region_matches }
      },
      {
        Sid      = "AllowSSMReadActions"
        Effect   = "Allow"
        Action   = "ssm:GetParameter"
        Resource = "arn:${local.partition}:ssm:${local.region}::parameter/aws/service/*"
      },
      {
        Sid      = "AllowPricingReadActions"
        Effect   = "Allow"
        Action   = "pricing:GetProducts"
        Resource = "*"
      },
      {
        Sid      = "AllowInterruptionQueueActions"
        Effect   = "Allow"
        Action   = ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
        Resource = aws_sqs_queue.karpenter.arn
      },
      {
        Sid       = "AllowPassingInstanceRole"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = aws_iam_role.karpenter_node.arn
        Condition = { StringEquals = { "iam:PassedToService" = "ec2.amazonaws.com" } }
      },
      {
        Sid       = "AllowScopedInstanceProfileCreation"
        Effect    = "Allow"
        Action    = ["iam:CreateInstanceProfile", "iam:TagInstanceProfile"]
        Resource  = "arn:${local.partition}:iam::${local.account}:instance-profile/*"
        Condition = { StringEquals = { (local.request_tag) = "owned", "aws:RequestTag/topology.kubernetes.io/region" = local.region } }
      },
      {
        Sid       = "AllowScopedInstanceProfileActions"
        Effect    = "Allow"
        Action    = ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile", "iam:TagInstanceProfile"]
        Resource  = "arn:${local.partition}:iam::${local.account}:instance-profile/*"
        Condition = { StringEquals = { (local.cluster_tag) = "owned", "aws:ResourceTag/topology.kubernetes.io/region" = local.region } }
      },
      {
        Sid      = "AllowInstanceProfileReadActions"
        Effect   = "Allow"
        Action   = "iam:GetInstanceProfile"
        Resource = "arn:${local.partition}:iam::${local.account}:instance-profile/*"
      },
      {
        Sid      = "AllowAPIServerEndpointDiscovery"
        Effect   = "Allow"
        Action   = "eks:DescribeCluster"
        Resource = aws_eks_cluster.this.arn
      }
    ]
  })
}

resource "aws_eks_pod_identity_association" "karpenter" {
  cluster_name    = aws_eks_cluster.this.name
  namespace       = "kube-system"
  service_account = "karpenter"
  role_arn        = aws_iam_role.karpenter_controller.arn
  tags            = var.context.tags
}
