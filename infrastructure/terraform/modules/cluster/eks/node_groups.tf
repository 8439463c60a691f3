# Managed node groups, one per entry of cluster_config.node_groups
# (dev 1, staging 2, prod 4 types), plus off-hours scale-to-zero schedules.

locals {
  taint_effect = {
    NoSchedule       = "NO_SCHEDULE"
    NoExecute        = "NO_EXECUTE"
    PreferNoSchedule = "PREFER_NO_SCHEDULE"
  }

  scheduled_groups = {
    for k, g in var.cluster_config.node_groups : k => g
    if var.cluster_config.scale_schedule.enabled && g.scale_to_zero_off_hours
  }
}

resource "aws_iam_role" "node" {
  name = "${local.name}-node"
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

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
  ])
  role       = aws_iam_role.node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_launch_template" "node" {
  for_each = var.cluster_config.node_groups

  name_prefix = "${local.name}-${each.key}-"
  description = "${local.name} node group ${each.key}"

  # IMDSv2 only, and not reachable from pods (hop limit 1): pods use Pod Identity.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = each.value.disk_size
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = aws_kms_key.this.arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.context.tags, { Name = "${local.name}-${each.key}" })
  }

  tags = var.context.tags
}

resource "aws_eks_node_group" "this" {
  for_each = var.cluster_config.node_groups

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.key
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.network.subnet_ids

  ami_type       = each.value.ami_type
  capacity_type  = each.value.capacity_type
  instance_types = each.value.instance_types

  scaling_config {
    min_size     = each.value.min_size
    max_size     = each.value.max_size
    desired_size = each.value.desired_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  labels = each.value.labels

  dynamic "taint" {
    for_each = each.value.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = local.taint_effect[taint.value.effect]
    }
  }

  tags = var.context.tags

  # desired_size is owned by Karpenter / cluster autoscaling and the schedules below.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.node, aws_eks_addon.vpc_cni, aws_eks_addon.pod_identity_agent]
}

# Cost: scale dev/staging worker groups to zero outside working hours.
resource "aws_autoscaling_schedule" "scale_down" {
  for_each = local.scheduled_groups

  scheduled_action_name  = "${local.name}-${each.key}-off-hours"
  autoscaling_group_name = aws_eks_node_group.this[each.key].resources[0].autoscaling_groups[0].name
  recurrence             = var.cluster_config.scale_schedule.scale_down_cron
  time_zone              = var.cluster_config.scale_schedule.time_zone
  min_size               = 0
  max_size               = each.value.max_size
  desired_capacity       = 0
}

resource "aws_autoscaling_schedule" "scale_up" {
  for_each = local.scheduled_groups

  scheduled_action_name  = "${local.name}-${each.key}-working-hours"
  autoscaling_group_name = aws_eks_node_group.this[each.key].resources[0].autoscaling_groups[0].name
  recurrence             = var.cluster_config.scale_schedule.scale_up_cron
  time_zone              = var.cluster_config.scale_schedule.time_zone
  min_size               = each.value.min_size
  max_size               = each.value.max_size
  desired_capacity       = each.value.desired_size
}
