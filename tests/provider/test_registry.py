"""mlp_registered_model, mlp_model_alias and the data sources (mlp_model_version, mlp_experiment,
mlp_server), against versions registered through the API as a training job would."""

import uuid


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def register_version(api, model: str) -> tuple[str, str]:
    """A run and a version of `model` made from it, as `mlflow.register_model` would."""
    run_id = api.call("POST", "runs/create", {"experiment_id": "0"})["run"]["info"]["run_id"]
    mv = api.call("POST", "model-versions/create",
                  {"name": model, "source": f"runs:/{run_id}/model", "run_id": run_id})["model_version"]
    return mv["version"], run_id


def model_hcl(name: str, description: str | None = None, tags: dict | None = None) -> str:
    body = f'  name = "{name}"\n'
    if description is not None:
        body += f'  description = "{description}"\n'
    if tags is not None:
        body += "  tags = {\n" + "".join(f'    {k} = "{v}"\n' for k, v in tags.items()) + "  }\n"
    return f'resource "mlp_registered_model" "m" {{\n{body}}}\n'


def test_registered_model_lifecycle(tf, api):
    name = uniq("churn-classifier")
    tf.write(model_hcl(name, "Predicts churn", {"owner": "ml"}))
    tf.run("apply")
    m = api.call("GET", "registered-models/get", name=name)["registered_model"]
    assert m["description"] == "Predicts churn"
    assert {t["key"]: t["value"] for t in m["tags"]} == {"owner": "ml"}
    assert tf.resource("mlp_registered_model.m")["creation_timestamp"] == int(m["creation_timestamp"])
    assert tf.plan_exit()[0] == 0

    # Update in place, rename included; versions follow the rename.
    version, _ = register_version(api, name)
    new = name + "-v2"
    tf.write(model_hcl(new, "Predicts churn, weekly", {"owner": "risk"}))
    code, out = tf.plan_exit()
    assert code == 2 and "update in-place" in out and "must be replaced" not in out, out
    tf.run("apply")
    m = api.call("GET", "registered-models/get", name=new)["registered_model"]
    assert m["description"] == "Predicts churn, weekly"
    assert {t["key"]: t["value"] for t in m["tags"]} == {"owner": "risk"}
    assert api.call("GET", "model-versions/get", name=new, version=version)["model_version"]["name"] == new
    assert tf.resource("mlp_registered_model.m")["id"] == new
    assert tf.plan_exit()[0] == 0

    # Drift: description edited and a tag removed in the UI.
    api.call("PATCH", "registered-models/update", {"name": new, "description": "edited by hand"})
    api.call("DELETE", "registered-models/delete-tag", {"name": new, "key": "owner"})
    code, out = tf.plan_exit()
    assert code == 2 and '"edited by hand" -> "Predicts churn, weekly"' in out and "owner" in out, out
    tf.run("apply")
    m = api.call("GET", "registered-models/get", name=new)["registered_model"]
    assert m["description"] == "Predicts churn, weekly" and m["tags"] == [{"key": "owner", "value": "risk"}]

    tf.run("destroy")
    r = api.s.get(api.base + "/api/2.0/mlflow/registered-models/get", params={"name": new}, timeout=30)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_registered_model_import_and_refusals(tf, api):
    name = uniq("imported-model")
    api.call("POST", "registered-models/create", {"name": name, "description": "from a notebook"})
    tf.write(model_hcl(name, "from a notebook"))
    tf.run("import", "mlp_registered_model.m", name)
    assert tf.plan_exit()[0] == 0
    # Declaring an existing model without importing it says how to import it.
    tf.write(model_hcl(name, "from a notebook") + model_hcl(name, "from a notebook").replace('"m"', '"dup"'))
    p = tf.run("apply", check=False)
    assert p.returncode == 1 and "already exists" in p.diag and f"terraform import <address> {name}" in p.diag, p.stderr
    # Plan-time refusals.
    tf.write(model_hcl("x" * 257))
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "at most 256" in p.diag, p.stderr
    tf.write(model_hcl(uniq("m"), ""))
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Invalid description" in p.diag, p.stderr


def alias_config(model: str, version: str, alias: str = "champion") -> str:
    return (
        f'resource "mlp_registered_model" "m" {{\n  name = "{model}"\n}}\n'
        f'resource "mlp_model_alias" "a" {{\n  model = mlp_registered_model.m.name\n'
        f'  alias = "{alias}"\n  version = "{version}"\n}}\n'
        f'data "mlp_model_version" "champion" {{\n  model = mlp_registered_model.m.name\n'
        f'  alias = mlp_model_alias.a.alias\n  depends_on = [mlp_model_alias.a]\n}}\n'
        'output "champion_source" { value = data.mlp_model_version.champion.source }\n'
        'output "champion_run" { value = data.mlp_model_version.champion.run_id }\n'
        'output "champion_version" { value = data.mlp_model_version.champion.version }\n'
    )


def test_alias_lifecycle_with_model_version_data_source(tf, api):
    model = uniq("fraud-model")
    tf.write(f'resource "mlp_registered_model" "m" {{\n  name = "{model}"\n}}\n')
    tf.run("apply")
    v1, run1 = register_version(api, model)
    v2, run2 = register_version(api, model)

    tf.write(alias_config(model, v1))
    tf.run("apply")
    assert api.call("GET", "registered-models/alias", name=model, alias="champion")["model_version"]["version"] == v1
    assert tf.output("champion_version") == v1
    assert tf.output("champion_source") == f"runs:/{run1}/model"
    assert tf.output("champion_run") == run1
    assert tf.resource("mlp_model_alias.a")["id"] == f"{model}@champion"
    assert tf.plan_exit()[0] == 0

    # Promote version 2 in place.
    tf.write(alias_config(model, v2))
    code, out = tf.plan_exit()
    assert code == 2 and "update in-place" in out, out
    tf.run("apply")
    assert api.call("GET", "registered-models/alias", name=model, alias="champion")["model_version"]["version"] == v2
    assert tf.output("champion_run") == run2

    # Drift: someone points the alias back at version 1 through the API.
    api.call("POST", "registered-models/alias", {"name": model, "alias": "champion", "version": v1})
    code, out = tf.plan_exit()
    assert code == 2 and f'"{v1}" -> "{v2}"' in out, out
    tf.run("apply")
    assert api.call("GET", "registered-models/alias", name=model, alias="champion")["model_version"]["version"] == v2

    # Drift: the alias deleted; the plan recreates it.
    api.call("DELETE", "registered-models/alias", {"name": model, "alias": "champion"})
    code, out = tf.plan_exit()
    assert code == 2 and "mlp_model_alias.a will be created" in out, out
    tf.run("apply")

    # Unknown version: refused at plan time, naming the model and version.
    tf.write(alias_config(model, "99"))
    p = tf.run("plan", check=False)
    assert p.returncode == 1
    assert "Unknown model version" in p.diag and f'"{model}" has no version 99' in p.diag, p.stderr

    # Invalid alias names and versions: refused before the server is asked.
    for alias, msg in [("latest", "reserved"), ("v3", "version reference"), ("has space", "only letters")]:
        tf.write(alias_config(model, v2, alias))
        p = tf.run("plan", check=False)
        assert p.returncode == 1 and "Invalid alias" in p.diag and msg in p.diag, p.stderr
    tf.write(alias_config(model, "two"))
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Invalid version" in p.diag, p.stderr

    tf.write(alias_config(model, v2))
    tf.run("destroy")
    r = api.s.get(api.base + "/api/2.0/mlflow/registered-models/alias", params={"name": model, "alias": "champion"}, timeout=30)
    assert r.status_code == 404


def test_alias_import(tf, api):
    model = uniq("imported-alias")
    api.call("POST", "registered-models/create", {"name": model})
    v1, _ = register_version(api, model)
    api.call("POST", "registered-models/alias", {"name": model, "alias": "prod", "version": v1})
    tf.write(f'resource "mlp_model_alias" "a" {{\n  model = "{model}"\n  alias = "prod"\n  version = "{v1}"\n}}\n')
    tf.run("import", "mlp_model_alias.a", f"{model}@prod")
    assert tf.resource("mlp_model_alias.a")["version"] == v1
    assert tf.plan_exit()[0] == 0
    p = tf.run("import", "mlp_model_alias.a", "no-alias-here", check=False)
    assert p.returncode == 1 and "Expected `<model>@<alias>`" in p.diag, p.stderr


def test_data_sources(tf, api, server):
    name = uniq("ds-exp")
    eid = api.call("POST", "experiments/create", {"name": name, "tags": [{"key": "k", "value": "v"}]})["experiment_id"]
    model = uniq("ds-model")
    api.call("POST", "registered-models/create", {"name": model})
    v1, run1 = register_version(api, model)
    tf.write(
        f'data "mlp_experiment" "e" {{\n  name = "{name}"\n}}\n'
        f'data "mlp_model_version" "v" {{\n  model = "{model}"\n  version = "{v1}"\n}}\n'
        'data "mlp_server" "s" {}\n'
        'output "exp_id" { value = data.mlp_experiment.e.id }\n'
        'output "exp_tags" { value = data.mlp_experiment.e.tags }\n'
        'output "mv_run" { value = data.mlp_model_version.v.run_id }\n'
        'output "mv_status" { value = data.mlp_model_version.v.status }\n'
        'output "server" { value = data.mlp_server.s }\n'
    )
    tf.run("apply")
    assert tf.output("exp_id") == eid
    assert tf.output("exp_tags") == {"k": "v"}
    assert tf.output("mv_run") == run1
    assert tf.output("mv_status") == "READY"
    srv = tf.output("server")
    assert srv["version"] == api.s.get(server.base + "/version", timeout=10).text.strip()
    assert srv["health"] == "OK" and srv["ready"] is True and srv["host"] == server.base

    tf.write(f'data "mlp_experiment" "e" {{\n  name = "{uniq("missing")}"\n}}\n')
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Experiment not found" in p.diag, p.stderr
    tf.write(f'data "mlp_model_version" "v" {{\n  model = "{model}"\n}}\n')
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Set exactly one of `alias` and `version`" in p.diag, p.stderr
    tf.write(f'data "mlp_model_version" "v" {{\n  model = "{model}"\n  alias = "nobody"\n}}\n')
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Model version not found" in p.diag and "alias" in p.diag, p.stderr
