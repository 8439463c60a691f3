"""Module calls, references and version pins: what `terraform validate` would
catch, re-implemented on the parsed HCL because providers cannot be
downloaded here (only the pure-HCL modules are validated by terraform)."""
import pytest

import tfmodel as t

DIRS = t.all_dirs()
IDS = [str(d.relative_to(t.TF_ROOT)) for d in DIRS]


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_module_calls_pass_exactly_the_declared_variables(d):
    problems = t.module_call_problems(t.load_module(d))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_references_resolve(d):
    problems = t.reference_problems(t.load_module(d))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("d", DIRS, ids=IDS)
def test_variables_and_outputs_are_typed_and_documented(d):
    m = t.load_module(d)
    for name, v in m.variables.items():
        assert "type" in v, f"{m.rel}: variable {name} has no type"
        assert t.one(v.get("description", "")), f"{m.rel}: variable {name} has no description"
    for name, o in m.outputs.items():
        assert t.one(o.get("description", "")), f"{m.rel}: output {name} has no description"


@pytest.mark.parametrize("d", t.module_dirs(), ids=[str(d.relative_to(t.TF_ROOT)) for d in t.module_dirs()])
def test_reusable_modules_pin_lower_bounds(d):
    m = t.load_module(d)
    rv = t.one(m.terraform.get("required_version"))
    assert rv and rv.startswith(">="), f"{m.rel}: required_version must be a lower bound, got {rv}"
    used = {b.type.split("_")[0] for b in m.resources if b.type != "terraform_data"}
    declared = m.required_providers
    for p in sorted(used):
        assert p in declared, f"{m.rel}: uses provider {p} without required_providers"
    for p, spec in declared.items():
        assert "/" in spec.get("source", ""), f"{m.rel}: provider {p} needs a source"
        assert spec.get("version", "").startswith(">="), f"{m.rel}: provider {p} needs a >= constraint"
        assert p in used, f"{m.rel}: provider {p} declared but unused"


def _providers_needed(d, seen=None):
    seen = seen if seen is not None else set()
    m = t.load_module(d)
    needed = {p: spec["source"] for p, spec in m.required_providers.items()}
    for body in m.module_calls.values():
        target = t.resolve_source(d, t.one(body["source"]))
        if target not in seen:
            seen.add(target)
            needed.update(_providers_needed(target, seen))
    return needed


@pytest.mark.parametrize("env", t.ENV_NAMES)
def test_root_modules_pin_every_provider_they_need(env):
    d = t.root_of(env)
    m = t.load_module(d)
    rv = t.one(m.terraform.get("required_version"))
    assert rv and rv.startswith("~>"), f"{env}: required_version must be pessimistic (~>), got {rv}"
    declared = m.required_providers
    for p, spec in declared.items():
        assert spec.get("version", "").startswith("~>"), f"{env}: provider {p} must be pinned with ~>"
    needed = _providers_needed(d)
    for p, source in needed.items():
        assert p in declared, f"{env}: a module needs provider {p} ({source}) but the root does not pin it"
        assert declared[p]["source"] == source, f"{env}: provider {p} source mismatch"
    assert set(declared) <= set(needed), f"{env}: pins unused providers {set(declared) - set(needed)}"


@pytest.mark.parametrize("env", t.ENV_NAMES)
def test_module_variants_match_env_config(env, env_settings):
    """Each environment calls the variant its env-config says (seed table)."""
    variants = env_settings[env]["variants"]
    m = t.load_module(t.root_of(env))
    for service in ("database", "cache", "storage", "registry", "ingress", "cluster"):
        if env == "local" and service in ("database", "cache", "storage"):
            # One set of local data stores: the overlay's (components/local-datastores), which the
            # application uses; the Terraform local root creates none (issue 17, item 8).
            assert service not in m.module_calls, f"local: module.{service} duplicates the overlay's data store"
            continue
        src = t.one(m.module_calls[service]["source"])
        assert src.endswith(f"/{service}/{variants[service]}"), f"{env}: module.{service} uses {src}, env-config says {variants[service]}"
