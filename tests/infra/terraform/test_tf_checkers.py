"""The checks must be able to fail: each checker is run on a module seeded
with exactly the violation it exists to catch."""
import shutil
from pathlib import Path

import tfmodel as t


def make_module(tmp_path: Path, name: str, files: dict) -> t.Module:
    d = tmp_path / name
    d.mkdir(parents=True)
    for fname, text in files.items():
        (d / fname).write_text(text)
    return t.load_module(d)


def copy_module(tmp_path: Path, rel: str, name: str) -> Path:
    d = tmp_path / name
    shutil.copytree(t.MODULES / rel, d, ignore=shutil.ignore_patterns(".terraform*"))
    return d


def test_parity_catches_a_missing_variable_and_a_changed_type(tmp_path):
    d = copy_module(tmp_path, "database/local", "db")
    text = (d / "variables.tf").read_text()
    (d / "variables.tf").write_text(text.replace("storage_size          = number", "storage_size          = string"))
    problems = t.interface_diff(t.load_module(d), t.load_module(t.MODULES / "database" / "cloud"))
    assert any("database_config: type differs" in p for p in problems), problems

    d2 = copy_module(tmp_path, "cache/local", "cache")
    text = (d2 / "variables.tf").read_text()
    start = text.index('variable "secret_store"')
    (d2 / "variables.tf").write_text(text[:start])
    problems = t.interface_diff(t.load_module(d2), t.load_module(t.MODULES / "cache" / "cloud"))
    assert any("secret_store only in" in p for p in problems), problems


def test_parity_catches_a_renamed_connection_key(tmp_path):
    d = copy_module(tmp_path, "storage/local", "st")
    text = (d / "outputs.tf").read_text()
    (d / "outputs.tf").write_text(text.replace("    endpoint   =", "    endpoints  =", 1))
    problems = t.interface_diff(t.load_module(d), t.load_module(t.MODULES / "storage" / "cloud"))
    assert any("output connection: shapes differ" in p for p in problems), problems


def test_module_call_check_catches_unknown_and_missing_variables(tmp_path):
    m = make_module(tmp_path, "root", {"main.tf": f'''
module "database" {{
  source          = "{t.MODULES / 'database' / 'local'}"
  context         = {{}}
  database_confg  = {{}}
}}
'''})
    problems = t.module_call_problems(m)
    assert any("unknown variable database_confg" in p for p in problems), problems
    assert any("misses required variable database_config" in p for p in problems), problems


def test_reference_check_catches_dangling_references(tmp_path):
    m = make_module(tmp_path, "refs", {"main.tf": '''
variable "a" {
  type = string
}
resource "aws_s3_bucket" "x" {
  bucket = "${var.b}-${local.c}"
  tags   = { k = aws_kms_key.missing.arn, d = data.aws_region.nope.region }
}
'''})
    problems = "\n".join(t.reference_problems(m))
    for needle in ("var.b is not declared", "local.c is not defined", "aws_kms_key.missing is not declared", "data.aws_region.nope"):
        assert needle in problems, problems


def test_world_ingress_is_caught(tmp_path):
    m = make_module(tmp_path, "sg", {"main.tf": '''
resource "aws_vpc_security_group_ingress_rule" "pg" {
  security_group_id = "sg-1"
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 5432
  to_port           = 5432
  ip_protocol       = "tcp"
}
resource "aws_security_group" "inline" {
  name = "x"
  ingress {
    from_port        = 6379
    to_port          = 6379
    protocol         = "tcp"
    ipv6_cidr_blocks = ["::/0"]
  }
}
'''})
    problems = [p for b in m.resources for p in t.world_ingress_problems(b)]
    assert len(problems) == 2, problems


def test_iam_wildcards_are_caught(tmp_path):
    m = make_module(tmp_path, "iam", {"main.tf": '''
resource "aws_iam_role_policy" "bad" {
  name = "bad"
  role = "r"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:*"]
        Resource = "arn:aws:s3:::b"
      },
      {
        Effect   = "Allow"
        Action   = ["ec2:DescribeInstances", "ec2:TerminateInstances"]
        Resource = "*"
      },
      {
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = "*"
      }
    ]
  })
}
'''})
    problems = [p for b in m.resources for p in t.iam_problems(b)]
    assert any("wildcard action s3:*" in p for p in problems), problems
    assert any("ec2:TerminateInstances" in p for p in problems), problems
    assert len(problems) == 2, problems  # the Deny statement is fine


def test_literal_passwords_are_caught(tmp_path):
    m = make_module(tmp_path, "pw", {"main.tf": '''
resource "aws_db_instance" "x" {
  username = "admin"
  password = "SuperSecret123!"
}
resource "aws_elasticache_replication_group" "y" {
  auth_token = random_password.ok.result
}
'''})
    problems = [p for b in m.resources for p in t.literal_secret_problems(b.body, b.name)]
    assert problems == ["x: password is a literal"], problems


def test_env_config_rejects_unsafe_prod_tfvars(tmp_path):
    """The same path the environment tests use fails for an unsafe prod tfvars."""
    import pytest
    from tfeval import evaluate_env_config

    fake = tmp_path / "environments"
    shutil.copytree(t.ENVIRONMENTS, fake, ignore=shutil.ignore_patterns(".terraform*"))
    tfvars = fake / "prod" / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace("deletion_protection   = true", "deletion_protection   = false"))
    orig = t.ENVIRONMENTS
    t.ENVIRONMENTS = fake
    try:
        with pytest.raises(AssertionError, match="prod must keep deletion protection"):
            evaluate_env_config("prod", tmp_path / "work")
    finally:
        t.ENVIRONMENTS = orig
