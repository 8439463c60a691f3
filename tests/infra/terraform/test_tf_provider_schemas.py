"""Arguments, nested blocks and attribute references of provider-bound
resources, checked against the providers' schemas (via the CDK for Terraform
bindings that run.sh unpacks into $INFRA_PROVIDER_SCHEMAS). This is the part
of `terraform validate` that the HCL-only tests cannot do."""
import os
import re
from pathlib import Path

import pytest

import schemacheck as s
import tfmodel as t

SCHEMA_DIR = os.environ.get("INFRA_PROVIDER_SCHEMAS")
pytestmark = pytest.mark.skipif(
    not SCHEMA_DIR or not Path(SCHEMA_DIR).is_dir(),
    reason="provider schemas not unpacked (run tests/infra/terraform/run.sh; needs npm)",
)

DIRS = t.all_dirs()
IDS = [str(d.relative_to(t.TF_ROOT)) for d in DIRS]


@pytest.fixture(scope="module")
def schemas():
    sc = s.Schemas(Path(SCHEMA_DIR))
    assert {"aws", "kubernetes", "helm", "random", "docker"} <= set(sc.dirs), sc.dirs
    return sc


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_arguments_and_blocks_exist(d, schemas):
    m = t.load_module(d)
    problems = [p for b in m.resources for p in s.block_problems(schemas, b)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_attribute_references_exist(d, schemas):
    problems = s.reference_problems(schemas, t.load_module(d))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("env", t.ENV_NAMES)
def test_provider_blocks(env, schemas):
    problems = s.provider_block_problems(schemas, t.load_module(t.root_of(env)))
    assert not problems, "\n".join(problems)


def test_schema_versions_fall_inside_the_root_pins(schemas):
    versions = schemas.provider_versions()
    for env in t.ENV_NAMES:
        pins = t.load_module(t.root_of(env)).required_providers
        for provider, spec in pins.items():
            if provider not in versions:
                continue
            m = re.match(r"~>\s*(\d+)\.(\d+)", spec["version"])
            major, minor = int(m.group(1)), int(m.group(2))
            v = [int(x) for x in versions[provider].split(".")]
            assert v[0] == major and v[1] >= minor, f"{env}: {provider} schema {versions[provider]} outside {spec['version']}"


def test_schema_check_catches_typos(tmp_path, schemas):
    d = tmp_path / "typo"
    d.mkdir()
    (d / "main.tf").write_text('''
resource "aws_db_instance" "x" {
  publically_accessible = false
}
output "o" {
  value = aws_db_instance.x.adress
}
''')
    (d / "providers.tf").write_text('provider "kubernetes" {\n  hots = "https://x"\n}\n')
    m = t.load_module(d)
    assert s.provider_block_problems(schemas, m) == [f"{d}/providers.tf: provider kubernetes: unknown argument hots"]
    assert s.block_problems(schemas, m.resources[0]) == [f"{d}/main.tf: resource aws_db_instance.x: unknown argument or block publically_accessible"]
    assert s.reference_problems(schemas, m) == [f"{d}: aws_db_instance.x.adress is not an attribute of aws_db_instance"]
