"""Security and backup settings of the cloud modules, and secret hygiene
everywhere (the parts checkov does not check, or checks only partly:
world-open data ports, literal passwords, per-environment protection)."""
import re

import pytest

import tfmodel as t

DIRS = t.all_dirs()
IDS = [str(d.relative_to(t.TF_ROOT)) for d in DIRS]


def attrs(block):
    return {k: t.one(v) for k, v in block.body.items() if not k.startswith("__")}


def only(rel, rtype):
    blocks = t.load_module(t.MODULES / rel).of_type(rtype)
    assert len(blocks) == 1, f"{rel}: expected one {rtype}"
    return blocks[0]


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_no_world_open_ingress(d):
    problems = [p for b in t.load_module(d).resources for p in t.world_ingress_problems(b)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_iam_has_no_wildcards(d):
    problems = [p for b in t.load_module(d).resources for p in t.iam_problems(b)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_no_literal_secrets_in_resources(d):
    m = t.load_module(d)
    problems = [p for b in m.resources for p in t.literal_secret_problems(b.body, f"{m.rel}:{b.type}.{b.name}")]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_no_shell_substitution_or_generated_secrets_in_outputs(d):
    m = t.load_module(d)
    assert "$(cat" not in m.code, f"{m.rel}: shell substitution cannot work inside Terraform"
    for name, o in m.outputs.items():
        text = str(o.get("value"))
        assert "random_password" not in text, f"{m.rel}: output {name} exposes a generated password"
        assert "master_user_secret[0].secret_string" not in text


def test_tfvars_contain_no_secrets():
    for f in list(t.ENVIRONMENTS.rglob("*.tfvars")):
        values = t.parse_file(f)
        for k in values:
            assert not re.search(r"passw|secret|token|access_key|private", k, re.I), f"{f.name}: {k}"
        assert not re.search(r"AKIA[0-9A-Z]{16}", f.read_text()), f"{f}: AWS access key"


def test_random_passwords_only_feed_secret_stores():
    """Every random_password result goes to a Kubernetes Secret, Secrets
    Manager, or the ElastiCache AUTH token, never anywhere else."""
    allowed = {"kubernetes_secret_v1", "aws_secretsmanager_secret_version", "aws_elasticache_replication_group"}
    for d in t.module_dirs():
        m = t.load_module(d)
        if not m.of_type("random_password"):
            continue
        for b in m.resources:
            if "random_password." in b.text and b.type != "random_password":
                assert b.type in allowed, f"{m.rel}: {b.type}.{b.name} consumes a generated password"


# --- database --------------------------------------------------------------
def test_rds_settings():
    a = attrs(only("database/cloud", "aws_db_instance"))
    assert a["manage_master_user_password"] is True and "password" not in a
    assert a["storage_encrypted"] is True and a["kms_key_id"]
    assert a["publicly_accessible"] is False
    assert a["skip_final_snapshot"] is False and a["final_snapshot_identifier"]
    assert a["copy_tags_to_snapshot"] is True
    assert a["iam_database_authentication_enabled"] is True
    assert "high_availability" in a["multi_az"]
    assert "backup_retention_days" in a["backup_retention_period"]
    assert "deletion_protection" in a["deletion_protection"]
    assert a["performance_insights_enabled"] is True and a["performance_insights_kms_key_id"]


def test_rds_forces_tls():
    text = only("database/cloud", "aws_db_parameter_group").text
    assert re.search(r'name\s*=\s*"rds.force_ssl"\s*\n\s*value\s*=\s*"1"', text)


def test_data_stores_only_accept_client_security_groups():
    for rel, port in (("database/cloud", 5432), ("cache/cloud", 6379)):
        rules = t.load_module(t.MODULES / rel).of_type("aws_vpc_security_group_ingress_rule")
        assert rules, rel
        for r in rules:
            a = attrs(r)
            assert "referenced_security_group_id" in a and "cidr_ipv4" not in a, rel
            assert a["from_port"] == port and a["to_port"] == port


# --- cache -------------------------------------------------------------------
def test_elasticache_settings():
    a = attrs(only("cache/cloud", "aws_elasticache_replication_group"))
    assert a["at_rest_encryption_enabled"] is True and a["kms_key_id"]
    assert a["transit_encryption_enabled"] is True
    assert "random_password" in a["auth_token"]
    assert "high_availability" in a["automatic_failover_enabled"] and "high_availability" in a["multi_az_enabled"]
    assert "snapshot_retention_days" in a["snapshot_retention_limit"]


# --- storage -----------------------------------------------------------------
def test_s3_buckets_are_locked_down():
    m = t.load_module(t.MODULES / "storage" / "cloud")
    pab = attrs(m.of_type("aws_s3_bucket_public_access_block")[0])
    for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert pab[k] is True, k
    for rtype in ("aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning",
                  "aws_s3_bucket_lifecycle_configuration", "aws_s3_bucket_policy", "aws_s3_bucket_ownership_controls"):
        blocks = m.of_type(rtype)
        assert blocks and "aws_s3_bucket.this" in t.one(blocks[0].body["for_each"]), f"{rtype} must cover every bucket"
    policy = m.of_type("aws_s3_bucket_policy")[0].text
    assert '"aws:SecureTransport" = "false"' in policy and '"s3:TlsVersion" = "1.2"' in policy
    lifecycle = m.of_type("aws_s3_bucket_lifecycle_configuration")[0].text
    assert "noncurrent_version_expiration" in lifecycle and "transition" in lifecycle
    assert attrs(m.of_type("aws_s3_bucket")[0])["force_destroy"] == "${var.storage_config.force_destroy}"


# --- registry / cluster ------------------------------------------------------
def test_ecr_settings():
    b = only("registry/cloud", "aws_ecr_repository")
    assert t.one(b.body["image_tag_mutability"]) == "IMMUTABLE"
    assert re.search(r"scan_on_push\s*=\s*true", b.text)
    assert re.search(r'encryption_type\s*=\s*"KMS"', b.text)
    assert t.load_module(t.MODULES / "registry" / "cloud").of_type("aws_ecr_lifecycle_policy")


def test_eks_settings():
    b = only("cluster/eks", "aws_eks_cluster")
    a = attrs(b)
    assert set(a["enabled_cluster_log_types"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert re.search(r'resources\s*=\s*\["secrets"\]', b.text)
    assert re.search(r"endpoint_private_access\s*=\s*true", b.text)
    assert "length(var.endpoint_public_access_cidrs) > 0" in b.text
    lt = only("cluster/eks", "aws_launch_template").text
    assert re.search(r'http_tokens\s*=\s*"required"', lt) and re.search(r"encrypted\s*=\s*true", lt)
    cni = [x for x in t.load_module(t.MODULES / "cluster" / "eks").of_type("aws_eks_addon") if x.name == "vpc_cni"][0]
    assert "enableNetworkPolicy" in cni.text


def test_eks_scale_schedules_and_karpenter():
    m = t.load_module(t.MODULES / "cluster" / "eks")
    names = {b.name for b in m.of_type("aws_autoscaling_schedule")}
    assert names == {"scale_down", "scale_up"}
    assert m.of_type("aws_sqs_queue") and m.of_type("aws_eks_pod_identity_association")
    k = t.load_module(t.MODULES / "cluster" / "karpenter")
    pool = [b for b in k.of_type("kubectl_manifest") if b.name == "node_pool"][0].text
    assert "WhenEmptyOrUnderutilized" in pool and "karpenter.sh/capacity-type" in pool


@pytest.mark.parametrize("d", t.module_dirs(), ids=[str(d.relative_to(t.TF_ROOT)) for d in t.module_dirs()])
def test_kms_keys_rotate_and_log_groups_are_encrypted(d):
    m = t.load_module(d)
    for k in m.of_type("aws_kms_key"):
        assert attrs(k).get("enable_key_rotation") is True, f"{m.rel}: {k.name}"
    for g in m.of_type("aws_cloudwatch_log_group"):
        a = attrs(g)
        assert a.get("kms_key_id") and (not isinstance(a["retention_in_days"], int) or a["retention_in_days"] >= 365), f"{m.rel}: {g.name}"


def test_secret_store_is_the_same_everywhere():
    """ExternalSecrets reference one ClusterSecretStore name in every environment."""
    m = t.load_module(t.MODULES / "secrets")
    assert t.one(m.variables["store_name"]["default"]) == "platform-secrets"
    store = [b for b in m.of_type("kubectl_manifest") if b.name == "store"][0].text
    assert "external-secrets.io/v1" in store and "ClusterSecretStore" in store
    for env in t.ENV_NAMES:
        call = t.load_module(t.root_of(env)).module_calls["secrets"]
        assert "store_name" not in call, f"{env} must not rename the store"


def test_local_workloads_are_restricted():
    for rel in ("database/local", "cache/local", "storage/local"):
        ss = only(rel, "kubernetes_stateful_set_v1").text
        for needle in ("run_as_non_root = true", "allow_privilege_escalation = false",
                       "read_only_root_filesystem  = true", 'drop = ["ALL"]', 'type = "RuntimeDefault"',
                       "liveness_probe", "readiness_probe", "limits"):
            assert needle in ss, f"{rel}: {needle}"
