"""infrastructure/terraform/platform, the platform's standard objects, applied for real: local
(auth off: experiments and models only), then dev on the same state (users, the teams' roles
with their grants and members, and direct grants added, tags changed in place), an empty plan after each, then destroy."""

import json
import shutil
from pathlib import Path

import requests

PLATFORM = Path(__file__).resolve().parents[2] / "infrastructure" / "terraform" / "platform"
PASSWORDS = {"ml-engineer": "ml-engineer-password", "data-engineer": "data-engineer-password",
             "release-bot": "release-bot-password"}


def test_platform_configuration_applies_per_environment(tf, api, server):
    # backend.tf (the cloud environments' S3 state) is left out: this test keeps local state.
    for f in PLATFORM.glob("*.tf"):
        if f.name != "backend.tf":
            shutil.copy(f, tf.root / f.name)
    shutil.copytree(PLATFORM / "envs", tf.root / "envs")
    env = {"TF_VAR_user_passwords": json.dumps(PASSWORDS)}

    tf.run("apply", "-var-file=envs/local.tfvars", env=env)
    for name in ("digits", "data-quality", "iris-logreg"):
        exp = api.experiment(name)
        tags = {t["key"]: t["value"] for t in exp["tags"]}
        assert tags["managed-by"] == "terraform" and tags["environment"] == "local", tags
    for name in ("digits-sgd", "iris-logreg"):
        assert "--register-as" in api.call("GET", "registered-models/get", name=name)["registered_model"]["description"]
    assert tf.run("plan", "-detailed-exitcode", "-var-file=envs/local.tfvars", env=env, check=False).returncode == 0
    ids = json.loads(tf.run("output", "-json", "experiment_ids").stdout)
    assert ids["digits"] == api.experiment("digits")["experiment_id"]

    tf.run("apply", "-var-file=envs/dev.tfvars", env=env)
    assert api.experiment("digits")["experiment_id"] == ids["digits"], "tags change in place"
    assert {t["key"]: t["value"] for t in api.experiment("digits")["tags"]}["environment"] == "dev"
    assert tf.run("plan", "-detailed-exitcode", "-var-file=envs/dev.tfvars", env=env, check=False).returncode == 0
    # The grants work: release-bot may move the champion alias, ml-engineer may not delete the model.
    rows = api.call("GET", "/api/3.0/mlflow/users/permissions/list", username="release-bot")["permissions"]
    assert {(r["resource_pattern"], r["permission"]) for r in rows} == {("digits-sgd", "MANAGE"), ("iris-logreg", "MANAGE")}
    r = requests.delete(server.base + "/api/2.0/mlflow/registered-models/delete", json={"name": "digits-sgd"},
                        auth=("ml-engineer", PASSWORDS["ml-engineer"]), timeout=10)
    assert r.status_code == 403, r.text
    # The teams' grants come through their roles: ml-engineer (EDIT on digits via ml-engineers)
    # may log runs there, data-engineer (READ via data-engineers) may not.
    roles = api.call("GET", "/api/3.0/mlflow/users/roles/list", username="ml-engineer")["roles"]
    assert [r["name"] for r in roles] == ["ml-engineers"], roles
    assert set(json.loads(tf.run("output", "-json", "role_ids").stdout)) == {"ml-engineers", "data-engineers"}
    digits = api.experiment("digits")["experiment_id"]
    for user, status in (("ml-engineer", 200), ("data-engineer", 403)):
        r = requests.post(server.base + "/api/2.0/mlflow/runs/create", json={"experiment_id": digits},
                          auth=(user, PASSWORDS[user]), timeout=10)
        assert r.status_code == status, (user, r.text)

    # A user without a password is refused at plan time with the reason.
    p = tf.run("plan", "-var-file=envs/dev.tfvars", check=False,
               env={"TF_VAR_user_passwords": json.dumps({"ml-engineer": "x" * 12})})
    assert p.returncode == 1 and "has no entry in user_passwords" in p.diag, p.diag

    tf.run("destroy", "-var-file=envs/dev.tfvars", env=env)
    assert api.experiment("digits")["lifecycle_stage"] == "deleted"
