"""mlp_experiment: the lifecycle Terraform promises — apply, an empty second plan, update in place,
drift corrected, import, destroy — and the refusals, each checked on the server too."""

import uuid

import pytest


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def exp_hcl(name: str, tags: dict[str, str] | None = None, extra: str = "") -> str:
    tag_lines = "".join(f'    {k} = "{v}"\n' for k, v in (tags or {}).items())
    tags_block = f"  tags = {{\n{tag_lines}  }}\n" if tags is not None else ""
    return f'resource "mlp_experiment" "e" {{\n  name = "{name}"\n{tags_block}{extra}}}\n'


def server_tags(exp: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in exp.get("tags", [])}


def test_lifecycle_apply_noop_update_drift_destroy(tf, api):
    name = uniq("shared/churn")
    tf.write(exp_hcl(name, {"team": "fraud", "tier": "gold"}))
    tf.run("apply")
    exp = api.experiment(name)
    assert exp["lifecycle_stage"] == "active"
    assert server_tags(exp) == {"team": "fraud", "tier": "gold"}
    state = tf.resource("mlp_experiment.e")
    assert state["id"] == exp["experiment_id"]
    assert state["lifecycle_stage"] == "active"
    assert state["creation_time"] == int(exp["creation_time"])
    assert state["artifact_location"] == exp["artifact_location"]

    code, out = tf.plan_exit()
    assert code == 0, out

    # Update in place: rename, change a tag, drop one; the ID stays.
    new_name = name + "-v2"
    tf.write(exp_hcl(new_name, {"team": "risk"}))
    code, out = tf.plan_exit()
    assert code == 2 and "update in-place" in out and "must be replaced" not in out, out
    tf.run("apply")
    exp2 = api.call("GET", "experiments/get", experiment_id=exp["experiment_id"])["experiment"]
    assert exp2["name"] == new_name
    assert server_tags(exp2) == {"team": "risk"}
    assert tf.plan_exit()[0] == 0

    # Drift through the API: a tag changed, one added, the experiment renamed.
    eid = exp["experiment_id"]
    api.call("POST", "experiments/set-experiment-tag", {"experiment_id": eid, "key": "team", "value": "hijacked"})
    api.call("POST", "experiments/set-experiment-tag", {"experiment_id": eid, "key": "extra", "value": "x"})
    api.call("POST", "experiments/update", {"experiment_id": eid, "new_name": new_name + "-renamed"})
    code, out = tf.plan_exit()
    assert code == 2, out
    assert '"hijacked" -> "risk"' in out and "extra" in out and new_name + "-renamed" in out, out
    tf.run("apply")
    exp3 = api.call("GET", "experiments/get", experiment_id=eid)["experiment"]
    assert exp3["name"] == new_name and server_tags(exp3) == {"team": "risk"}
    assert tf.plan_exit()[0] == 0

    # A note written by the UI (an mlflow. tag) is not drift.
    api.call("POST", "experiments/set-experiment-tag", {"experiment_id": eid, "key": "mlflow.note.content", "value": "hi"})
    assert tf.plan_exit()[0] == 0

    tf.run("destroy")
    assert api.call("GET", "experiments/get", experiment_id=eid)["experiment"]["lifecycle_stage"] == "deleted"


def test_deleted_behind_terraforms_back_is_restored(tf, api):
    name = uniq("restore")
    tf.write(exp_hcl(name, {"a": "1"}, "  restore_on_create = true\n"))
    tf.run("apply")
    eid = tf.resource("mlp_experiment.e")["id"]
    api.call("POST", "experiments/delete", {"experiment_id": eid})
    code, out = tf.plan_exit()
    assert code == 2 and "will be created" in out, out
    tf.run("apply")
    # Restored, not a new experiment: same ID, active again.
    assert tf.resource("mlp_experiment.e")["id"] == eid
    assert api.experiment(name)["lifecycle_stage"] == "active"
    assert tf.plan_exit()[0] == 0
    tf.run("destroy")


def test_name_held_by_deleted_experiment_without_restore_is_explained(tf, api):
    name = uniq("held")
    eid = api.call("POST", "experiments/create", {"name": name})["experiment_id"]
    api.call("POST", "experiments/delete", {"experiment_id": eid})
    tf.write(exp_hcl(name))
    p = tf.run("apply", check=False)
    assert p.returncode != 0
    assert "restore_on_create" in p.diag and eid in p.diag, p.stderr


def test_import_existing_experiment(tf, api):
    name = uniq("imported")
    eid = api.call("POST", "experiments/create", {"name": name, "tags": [{"key": "owner", "value": "ops"}]})["experiment_id"]
    tf.write(exp_hcl(name, {"owner": "ops"}))
    tf.run("import", "mlp_experiment.e", eid)
    assert tf.resource("mlp_experiment.e")["name"] == name
    code, out = tf.plan_exit()
    assert code == 0, out
    # By name as well, into a second address.
    tf.write(exp_hcl(name, {"owner": "ops"}) + exp_hcl(name, {"owner": "ops"}).replace('"e"', '"f"'))
    tf.run("import", "mlp_experiment.f", f"name:{name}")
    assert tf.resource("mlp_experiment.f")["id"] == eid
    # An unknown ID is refused readably.
    tf.write(exp_hcl(name) + exp_hcl(uniq("x")).replace('"e"', '"g"'))
    p = tf.run("import", "mlp_experiment.g", "987654321", check=False)
    assert p.returncode != 0 and 'No experiment "987654321"' in p.diag, p.stderr


@pytest.mark.parametrize("name,message", [
    ("", "Experiment name must not be empty."),
    (" padded", "has leading or trailing whitespace"),
    ("x" * 501, "the server accepts at most 500"),
])
def test_invalid_name_refused_at_plan(tf, api, name, message):
    tf.write(exp_hcl(name))
    p = tf.run("plan", check=False)
    assert p.returncode == 1
    assert "Invalid name" in p.diag and message in p.diag, p.stderr
    # Refused before anything reached the server.
    assert api.call("POST", "experiments/search", {"filter": f"name = '{name.strip()}'", "max_results": 1}).get("experiments") is None


def test_invalid_artifact_location_refused_at_plan(tf):
    tf.write(exp_hcl(uniq("loc"), extra='  artifact_location = "s3://bucket/../etc"\n'))
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Invalid artifact_location" in p.diag and ".." in p.diag, p.stderr


def test_server_unreachable(tf):
    port = __import__("conftest").free_port()
    tf.write(exp_hcl(uniq("down")))
    p = tf.run("plan", check=False, env={"MLP_SERVER": f"http://127.0.0.1:{port}"})
    assert p.returncode == 1
    assert "Cannot reach the mlp server" in p.diag and f"127.0.0.1:{port}" in p.diag, p.stderr


def test_bad_credentials_explained(tf):
    tf.write(exp_hcl(uniq("creds")))
    p = tf.run("apply", check=False, env={"MLFLOW_TRACKING_PASSWORD": "wrong-password"})
    assert p.returncode == 1 and "401" in p.diag and "MLP_TOKEN" in p.diag, p.stderr


def test_token_auth_from_mlp_token(tf, api, server):
    secret = api.s.post(server.base + "/api/v1/tokens", json={"name": "terraform", "expires_in_days": 1},
                        timeout=10).json()["secret"]
    name = uniq("by-token")
    tf.write(exp_hcl(name))
    # Only the token: Basic credentials removed from the environment.
    env = {"MLP_TOKEN": secret, "MLFLOW_TRACKING_USERNAME": "", "MLFLOW_TRACKING_PASSWORD": ""}
    tf.run("apply", env=env)
    assert api.experiment(name)["lifecycle_stage"] == "active"
    p = tf.run("plan", check=False, env={**env, "MLP_TOKEN": secret + "x"})
    assert p.returncode == 1 and "401" in p.diag, p.diag


def test_request_timeout_from_provider_block(tf):
    # A server that accepts connections and never answers: the request ends at timeout_seconds.
    with __import__("socket").socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        tf.write(exp_hcl(uniq("slow")))
        (tf.root / "main.tf").write_text((tf.root / "main.tf").read_text().replace(
            'provider "mlp" {}', 'provider "mlp" {\n  timeout_seconds = 2\n}'))
        t0 = __import__("time").monotonic()
        p = tf.run("plan", check=False, env={"MLP_SERVER": f"http://127.0.0.1:{port}"})
        elapsed = __import__("time").monotonic() - t0
    assert p.returncode == 1 and "timed out" in p.diag, p.diag
    assert elapsed < 30, elapsed


def test_invalid_provider_settings(tf):
    tf.write(exp_hcl(uniq("cfg")))
    (tf.root / "main.tf").write_text((tf.root / "main.tf").read_text().replace(
        'provider "mlp" {}', 'provider "mlp" {\n  host = "127.0.0.1:5000"\n  timeout_seconds = 0\n}'))
    p = tf.run("plan", check=False)
    assert p.returncode == 1
    assert "Invalid host" in p.diag and "http:// or https://" in p.diag, p.diag
    assert "Invalid timeout_seconds" in p.diag, p.diag
