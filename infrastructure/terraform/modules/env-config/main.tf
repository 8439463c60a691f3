locals {
  # Labels and taints shared by Kind workers, EKS managed node groups and
  # Karpenter node pools, so one nodeSelector/toleration works everywhere.
  workload_label = "ml-platform/workload-type"
  group_label    = "ml-platform/node-group"

  training_taint = { key = "ml-platform/workload", value = "training", effect = "NoSchedule" }
  data_taint     = { key = "ml-platform/workload", value = "data-processing", effect = "NoSchedule" }
  gpu_taint      = { key = "nvidia.com/gpu", value = "true", effect = "NoSchedule" }
  system_taint   = { key = "CriticalAddonsOnly", value = "true", effect = "NoSchedule" }

  node_group_defaults = {
    ami_type                = "AL2023_x86_64_STANDARD"
    disk_size               = 50
    scale_to_zero_off_hours = false
    taints                  = []
  }

  # --- node groups per environment (seed: simulated / 1 / 2 / 4 types) ---
  node_groups = {
    # Kind: one labelled (and, where the cloud group is tainted, tainted)
    # worker per simulated group; sizes are node counts.
    local = {
      general = merge(local.node_group_defaults, {
        instance_types = ["kind-worker"], capacity_type = "ON_DEMAND"
        min_size       = 1, max_size = 1, desired_size = 1
        labels         = { (local.group_label) = "general", (local.workload_label) = "general" }
      })
      training = merge(local.node_group_defaults, {
        instance_types = ["kind-worker"], capacity_type = "ON_DEMAND"
        min_size       = 1, max_size = 1, desired_size = 1
        labels         = { (local.group_label) = "training", (local.workload_label) = "training" }
        taints         = [local.training_taint]
      })
      data = merge(local.node_group_defaults, {
        instance_types = ["kind-worker"], capacity_type = "ON_DEMAND"
        min_size       = 1, max_size = 1, desired_size = 1
        labels         = { (local.group_label) = "data", (local.workload_label) = "data-processing" }
        taints         = [local.data_taint]
      })
    }

    # dev: one type; training and data jobs go to Karpenter spot pools.
    dev = {
      general = merge(local.node_group_defaults, {
        instance_types          = ["t3a.large", "t3.large", "m6a.large"]
        capacity_type           = "SPOT"
        min_size                = 1, max_size = 4, desired_size = 2
        labels                  = { (local.group_label) = "general", (local.workload_label) = "general" }
        scale_to_zero_off_hours = true
      })
    }

    # staging: system (on-demand, runs Karpenter and add-ons) + general.
    staging = {
      system = merge(local.node_group_defaults, {
        instance_types = ["m6i.large"], capacity_type = "ON_DEMAND"
        min_size       = 2, max_size = 3, desired_size = 2
        labels         = { (local.group_label) = "system", (local.workload_label) = "system" }
        taints         = [local.system_taint]
      })
      general = merge(local.node_group_defaults, {
        instance_types          = ["m6i.xlarge", "m6a.xlarge", "m5.xlarge"]
        capacity_type           = "SPOT"
        min_size                = 1, max_size = 6, desired_size = 2
        labels                  = { (local.group_label) = "general", (local.workload_label) = "general" }
        scale_to_zero_off_hours = true
      })
    }

    # prod: system, general, compute (GPU training), data processing (spot).
    prod = {
      system = merge(local.node_group_defaults, {
        instance_types = ["m6i.large"], capacity_type = "ON_DEMAND"
        min_size       = 3, max_size = 4, desired_size = 3
        labels         = { (local.group_label) = "system", (local.workload_label) = "system" }
        taints         = [local.system_taint]
      })
      general = merge(local.node_group_defaults, {
        instance_types = ["m6i.2xlarge", "m6a.2xlarge"], capacity_type = "ON_DEMAND"
        min_size       = 3, max_size = 12, desired_size = 3
        labels         = { (local.group_label) = "general", (local.workload_label) = "general" }
      })
      compute = merge(local.node_group_defaults, {
        instance_types = ["g5.2xlarge", "g6.2xlarge"], capacity_type = "ON_DEMAND"
        ami_type       = "AL2023_x86_64_NVIDIA", disk_size = 200
        min_size       = 0, max_size = 4, desired_size = 0
        labels         = { (local.group_label) = "compute", (local.workload_label) = "training", "nvidia.com/gpu.present" = "true" }
        taints         = [local.training_taint, local.gpu_taint]
      })
      data = merge(local.node_group_defaults, {
        instance_types = ["r6i.2xlarge", "r6a.2xlarge", "r5.2xlarge"], capacity_type = "SPOT"
        disk_size      = 100
        min_size       = 0, max_size = 10, desired_size = 0
        labels         = { (local.group_label) = "data", (local.workload_label) = "data-processing" }
        taints         = [local.data_taint]
      })
    }
  }

  # --- Karpenter node pools (cloud only): burst capacity for batch work ---
  pool_defaults = {
    architectures     = ["amd64"]
    memory_limit_gi   = 256
    gpu_limit         = 0
    consolidate_after = "5m"
    weight            = 10
  }
  spot_training_pool = merge(local.pool_defaults, {
    capacity_types    = ["spot"]
    instance_families = ["c6i", "c6a", "c7i", "m6i", "m6a"]
    cpu_limit         = 64
    labels            = { (local.workload_label) = "training", (local.group_label) = "karpenter-training" }
    taints            = [local.training_taint]
  })
  spot_data_pool = merge(local.pool_defaults, {
    capacity_types    = ["spot"]
    instance_families = ["r6i", "r6a", "r7i", "m6i"]
    cpu_limit         = 64
    labels            = { (local.workload_label) = "data-processing", (local.group_label) = "karpenter-data" }
    taints            = [local.data_taint]
  })

  karpenter_node_pools = {
    local = {}
    dev = {
      training = merge(local.spot_training_pool, { cpu_limit = 16, memory_limit_gi = 64 })
      data     = merge(local.spot_data_pool, { cpu_limit = 16, memory_limit_gi = 128 })
    }
    staging = {
      training = merge(local.spot_training_pool, { cpu_limit = 32, memory_limit_gi = 128 })
      data     = merge(local.spot_data_pool, { cpu_limit = 32, memory_limit_gi = 256 })
    }
    prod = {
      # GPU training: spot first, on-demand fallback; longer consolidation
      # so checkpoints are not interrupted by bin-packing.
      training = merge(local.spot_training_pool, {
        capacity_types    = ["spot", "on-demand"]
        instance_families = ["g5", "g6"]
        cpu_limit         = 256, memory_limit_gi = 1024, gpu_limit = 16
        consolidate_after = "15m", weight = 20
        taints            = [local.training_taint, local.gpu_taint]
      })
      # CPU-only training: the training taint only, so jobs without a GPU
      # request (which tolerate no GPU taint) have somewhere to land.
      training-cpu = merge(local.spot_training_pool, {
        cpu_limit = 128, memory_limit_gi = 512
        labels    = { (local.workload_label) = "training", (local.group_label) = "karpenter-training-cpu" }
      })
      data = merge(local.spot_data_pool, { cpu_limit = 256, memory_limit_gi = 2048 })
    }
  }

  settings = {
    local = {
      cluster_variant       = "kind"
      service_variant       = "local"
      high_availability     = false
      backup_retention_days = 0
      deletion_protection   = false
      db_instance_class     = "local"
      db_storage_size       = 5
      cache_node_type       = "local"
      cache_replicas        = 0
      keep_last_images      = 10
      noncurrent_days       = 7
      metrics_retention     = "2d"
      monitoring_replicas   = 1
      az_count              = 1
      single_nat_gateway    = true
      vpc_cidr              = "10.0.0.0/16"
      scale_schedule        = false
    }
    dev = {
      cluster_variant       = "eks"
      service_variant       = "cloud"
      high_availability     = false
      backup_retention_days = 7
      deletion_protection   = false
      db_instance_class     = "db.t4g.small"
      db_storage_size       = 20
      cache_node_type       = "cache.t4g.micro"
      cache_replicas        = 0
      keep_last_images      = 20
      noncurrent_days       = 7
      metrics_retention     = "7d"
      monitoring_replicas   = 1
      az_count              = 2
      single_nat_gateway    = true
      vpc_cidr              = "10.10.0.0/16"
      scale_schedule        = true
    }
    staging = {
      cluster_variant       = "eks"
      service_variant       = "cloud"
      high_availability     = false
      backup_retention_days = 14
      deletion_protection   = true
      db_instance_class     = "db.t4g.medium"
      db_storage_size       = 50
      cache_node_type       = "cache.t4g.small"
      cache_replicas        = 1
      keep_last_images      = 30
      noncurrent_days       = 30
      metrics_retention     = "15d"
      monitoring_replicas   = 1
      az_count              = 2
      single_nat_gateway    = true
      vpc_cidr              = "10.20.0.0/16"
      scale_schedule        = true
    }
    prod = {
      cluster_variant       = "eks"
      service_variant       = "cloud"
      high_availability     = true
      backup_retention_days = 30
      deletion_protection   = true
      db_instance_class     = "db.r6g.large"
      db_storage_size       = 100
      cache_node_type       = "cache.r7g.large"
      cache_replicas        = 2
      keep_last_images      = 100
      noncurrent_days       = 90
      metrics_retention     = "30d"
      monitoring_replicas   = 2
      az_count              = 3
      single_nat_gateway    = false
      vpc_cidr              = "10.30.0.0/16"
      scale_schedule        = false
    }
  }

  s = local.settings[var.environment]

  high_availability     = coalesce(var.high_availability, local.s.high_availability)
  backup_retention_days = coalesce(var.backup_retention_days, local.s.backup_retention_days)
  deletion_protection   = coalesce(var.deletion_protection, local.s.deletion_protection)
  minimal               = var.development_mode.enabled && var.development_mode.minimal_resources

  services = {
    kind = { database = "postgresql-in-cluster", cache = "redis-in-cluster", storage = "minio", registry = "local-registry", ingress = "nginx" }
    eks  = { database = "rds", cache = "elasticache", storage = "s3", registry = "ecr", ingress = "alb" }
  }
}
