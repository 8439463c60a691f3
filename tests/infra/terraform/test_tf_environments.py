"""Per-environment policy, evaluated from the real tfvars through env-config
(seed table: Kind/EKS, in-cluster/managed services, node groups simulated/1/2/4;
prod HA, 30-day retention, deletion protection)."""
import pytest

import tfmodel as t

SERVICES = {
    "local": {"database": "postgresql-in-cluster", "cache": "redis-in-cluster", "storage": "minio", "registry": "local-registry", "ingress": "nginx"},
    "cloud": {"database": "rds", "cache": "elasticache", "storage": "s3", "registry": "ecr", "ingress": "alb"},
}
NODE_GROUP_TYPES = {"dev": 1, "staging": 2, "prod": 4}


@pytest.mark.parametrize("env", t.ENV_NAMES)
def test_services_per_environment(env, env_settings):
    s = env_settings[env]
    kind = "local" if env == "local" else "cloud"
    assert s["services"] == SERVICES[kind]
    assert s["variants"]["cluster"] == ("kind" if env == "local" else "eks")


@pytest.mark.parametrize("env", t.CLOUD_ENVS)
def test_node_group_types_per_environment(env, env_settings):
    groups = env_settings[env]["cluster_config"]["node_groups"]
    assert len(groups) == NODE_GROUP_TYPES[env], f"{env}: {sorted(groups)}"


def test_local_simulates_node_groups_with_labelled_tainted_kind_workers(env_settings):
    cc = env_settings["local"]["cluster_config"]
    assert cc["karpenter_node_pools"] == {}
    groups = cc["node_groups"]
    assert len(groups) >= 2
    assert all("ml-platform/workload-type" in g["labels"] for g in groups.values())
    assert any(g["taints"] for g in groups.values()), "at least one simulated group must be tainted like its cloud counterpart"


def test_workload_labels_are_consistent_across_environments(env_settings):
    """A training job's nodeSelector/toleration must find nodes everywhere."""
    for env in t.ENV_NAMES:
        cc = env_settings[env]["cluster_config"]
        pools = list(cc["node_groups"].values()) + list(cc["karpenter_node_pools"].values())
        types = {p["labels"].get("ml-platform/workload-type") for p in pools}
        assert {"general", "training", "data-processing"} <= types, f"{env}: {types}"
        for p in pools:
            if p["labels"].get("ml-platform/workload-type") == "training":
                assert {"key": "ml-platform/workload", "value": "training", "effect": "NoSchedule"} in p["taints"]


def test_prod_is_highly_available_and_protected(env_settings):
    p = env_settings["prod"]
    db, cache = p["database_config"], p["cache_config"]
    assert db["high_availability"] and cache["high_availability"]
    assert db["backup_retention_days"] == 30 and cache["snapshot_retention_days"] == 30
    assert db["deletion_protection"] and cache["deletion_protection"]
    assert cache["replicas"] >= 1
    assert p["network_config"]["az_count"] >= 3 and not p["network_config"]["single_nat_gateway"]
    assert not p["cluster_config"]["scale_schedule"]["enabled"]
    assert p["monitoring_config"]["replicas"] >= 2


@pytest.mark.parametrize("env", t.CLOUD_ENVS)
def test_cloud_environments_keep_backups(env, env_settings):
    assert env_settings[env]["database_config"]["backup_retention_days"] >= 1
    assert env_settings[env]["cache_config"]["snapshot_retention_days"] >= 1


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_non_prod_cost_controls(env, env_settings):
    cc = env_settings[env]["cluster_config"]
    assert cc["scale_schedule"]["enabled"], f"{env} must scale down outside working hours"
    assert any(g["scale_to_zero_off_hours"] for g in cc["node_groups"].values())
    assert any(g["capacity_type"] == "SPOT" for g in cc["node_groups"].values())


@pytest.mark.parametrize("env", t.CLOUD_ENVS)
def test_batch_capacity_is_spot_with_consolidation(env, env_settings):
    pools = env_settings[env]["cluster_config"]["karpenter_node_pools"]
    assert {"training", "data"} <= set(pools)
    for name, p in pools.items():
        assert "spot" in p["capacity_types"], f"{env}/{name}"
        assert p["cpu_limit"] > 0, f"{env}/{name} needs a limit"


def test_prod_gpu_training_scales_from_zero(env_settings):
    cc = env_settings["prod"]["cluster_config"]
    compute = cc["node_groups"]["compute"]
    assert compute["min_size"] == 0 and "NVIDIA" in compute["ami_type"]
    assert cc["karpenter_node_pools"]["training"]["gpu_limit"] > 0


@pytest.mark.parametrize("env", t.ENV_NAMES)
def test_tfvars_only_set_declared_variables(env):
    root = t.load_module(t.root_of(env))
    values = t.load_tfvars(t.ENVIRONMENTS / "_shared" / "common.tfvars", t.ENVIRONMENTS / env / "terraform.tfvars")
    assert set(values) <= set(root.variables), f"undeclared: {set(values) - set(root.variables)}"
    # endpoint_public_access_cidrs is the network of whoever applies: given per deploy.
    required = {n for n, v in root.variables.items() if "default" not in v} - {"endpoint_public_access_cidrs"}
    assert required <= set(values), f"not set: {required - set(values)}"
    assert values["environment"] == env


def test_seed_tfvars_keys_present():
    prod = t.load_tfvars(t.ENVIRONMENTS / "prod" / "terraform.tfvars")
    assert prod["high_availability"] is True and prod["backup_retention_days"] == 30 and prod["deletion_protection"] is True
    local = t.load_tfvars(t.ENVIRONMENTS / "local" / "terraform.tfvars")
    assert local["development_mode"]["enabled"] is True


def test_cloud_environments_are_only_data():
    """One cloud root: dev, staging and prod hold their tfvars and backend, no code."""
    for env in t.CLOUD_ENVS:
        files = sorted(p.name for p in (t.ENVIRONMENTS / env).iterdir() if not p.name.startswith("."))
        assert files == ["backend.hcl", "platform.backend.hcl", "terraform.tfvars"], f"environments/{env}: {files}"
        assert t.root_of(env) == t.CLOUD_ROOT


@pytest.mark.parametrize("env", t.CLOUD_ENVS)
def test_remote_state_backend(env):
    root = t.load_module(t.root_of(env))
    backend = t.one(root.terraform["backend"])
    assert list(backend) == ["s3"] and backend["s3"] == {}, "partial S3 backend configuration expected"
    cfg = t.load_tfvars(t.ENVIRONMENTS / env / "backend.hcl")
    assert cfg["encrypt"] is True and cfg["use_lockfile"] is True
    assert "dynamodb_table" not in cfg, "use S3 native locking"
    assert cfg["key"] == f"ml-platform/{env}/terraform.tfstate"


@pytest.mark.parametrize("env", t.CLOUD_ENVS)
def test_platform_objects_state_backend(env):
    """The platform root (terraform-provider-mlp objects) keeps its cloud state in the
    environment's bucket with the same locking, under its own key."""
    platform = t.load_module(t.TF_ROOT / "platform")
    backend = t.one(platform.terraform["backend"])
    assert list(backend) == ["s3"] and backend["s3"] == {}, "partial S3 backend configuration expected"
    cfg = t.load_tfvars(t.ENVIRONMENTS / env / "platform.backend.hcl")
    root = t.load_tfvars(t.ENVIRONMENTS / env / "backend.hcl")
    assert {k: v for k, v in cfg.items() if k != "key"} == {k: v for k, v in root.items() if k != "key"}
    assert cfg["key"] == f"ml-platform/{env}/platform.tfstate"


def test_state_keys_are_distinct():
    keys = [t.load_tfvars(t.ENVIRONMENTS / e / f)["key"] for e in t.CLOUD_ENVS
            for f in ("backend.hcl", "platform.backend.hcl")]
    assert len(set(keys)) == len(keys)


def test_local_keeps_local_state():
    root = t.load_module(t.root_of("local"))
    assert "backend" not in root.terraform


@pytest.mark.parametrize("env", t.CLOUD_ENVS)
def test_aws_provider_tags_everything(env):
    text = (t.root_of(env) / "providers.tf").read_text()
    assert "default_tags" in text and "module.common.tags" in text


K8S_INFRA_KEYS = {
    "ENVIRONMENT", "AWS_REGION", "VPC_CIDR", "DATABASE_SUBNETS_CIDR", "CACHE_SUBNETS_CIDR", "DATABASE_URL",
    "DATABASE_SECRET_ARN", "DATABASE_ADMIN_SECRET_ARN", "REDIS_URL", "REDIS_SECRET_NAME", "ARTIFACTS_ROOT", "BACKUP_S3_URI", "INGRESS_HOST",
    "ACM_CERTIFICATE_ARN", "IMAGE_REGISTRY",
}
K8S_SCRIPT = t.REPO / "infrastructure" / "kubernetes" / "scripts" / "infra-outputs-from-terraform.sh"


@pytest.mark.parametrize("env", t.CLOUD_ENVS)
def test_kubernetes_infra_outputs_contract(env):
    """The overlay's infra-outputs.env is generated from this output."""
    root = t.load_module(t.root_of(env))
    value = t.one(root.outputs["kubernetes_infra_outputs"]["value"])
    if isinstance(value, str) and value.startswith("${local."):
        name = value[len("${local."):-1]
        value = next(t.one(v[name]) for _, v in root.blocks("locals") if name in v)
    assert set(k for k in value if not k.startswith("__")) == K8S_INFRA_KEYS
    assert "password" not in str(value).lower() and "random_password" not in str(value)


def test_kubernetes_infra_outputs_match_the_consumer_script():
    import re

    if not K8S_SCRIPT.exists():
        pytest.skip("infrastructure/kubernetes/scripts/infra-outputs-from-terraform.sh not present")
    m = re.search(r"required=\(([^)]*)\)", K8S_SCRIPT.read_text(), re.S)
    assert m, "consumer script no longer lists its required keys"
    assert set(m.group(1).split()) == K8S_INFRA_KEYS


def test_storage_has_the_buckets_the_manifests_use(env_settings):
    for env in t.ENV_NAMES:
        assert {"artifacts", "backups"} <= set(env_settings[env]["storage_config"]["buckets"])


@pytest.mark.parametrize("env", t.CLOUD_ENVS)
def test_data_stores_live_in_isolated_subnets(env):
    main = (t.root_of(env) / "main.tf").read_text()
    assert "module.network.database_subnet_ids" in main and "module.network.cache_subnet_ids" in main
    net = t.load_module(t.MODULES / "network")
    data_rt = [b for b in net.of_type("aws_route_table") if b.name == "data"][0]
    assert "route" not in data_rt.text.split("{", 1)[1], "data subnets must have no routes out"
    assert not [b for b in net.of_type("aws_route") if "aws_route_table.data" in b.text]
