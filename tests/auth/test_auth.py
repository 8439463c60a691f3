"""Authentication and permissions through MLflow's own clients: `AuthServiceClient`
(`mlflow.server.get_app_client("basic-auth", …)`) for users and grants, `MlflowClient` with
MLFLOW_TRACKING_USERNAME/PASSWORD (or MLFLOW_TRACKING_TOKEN) for everything else. Each test
checks that a refused call changed nothing where that matters, not only its status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server import get_app_client

from conftest import ADMIN, ADMIN_PW, as_user, start, with_token

PW = "user-password-for-tests"


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def admin_client(server):
    return get_app_client("basic-auth", tracking_uri=server.base)


def new_user(server) -> str:
    name = uniq("user")
    with as_user(ADMIN, ADMIN_PW):
        admin_client(server).create_user(name, PW)
    return name


def denied(fn, *args, **kwargs):
    """The call is refused with 403 (MLflow answers it as text, mlp as PERMISSION_DENIED)."""
    with pytest.raises(Exception) as e:
        fn(*args, **kwargs)
    text = str(e.value)
    assert getattr(e.value, "error_code", "") == "PERMISSION_DENIED" or "403" in text, text


def error_code(fn, *args, **kwargs) -> str:
    with pytest.raises(MlflowException) as e:
        fn(*args, **kwargs)
    return e.value.error_code


def test_health_is_open_and_the_api_needs_credentials(server):
    assert requests.get(server.url("/health"), timeout=10).status_code == 200
    r = requests.get(server.url("/api/2.0/mlflow/experiments/search"), params={"max_results": 1}, timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
    r = requests.get(server.url("/api/2.0/mlflow/experiments/search"), params={"max_results": 1},
                     auth=(ADMIN, "wrong-password-123"), timeout=10)
    assert r.status_code == 401
    r = requests.get(server.url("/api/2.0/mlflow/experiments/search"), params={"max_results": 1},
                     auth=("nobody-at-all", ADMIN_PW), timeout=10)
    assert r.status_code == 401
    r = requests.get(server.url("/api/2.0/mlflow/experiments/search"), params={"max_results": 1},
                     auth=(ADMIN, ADMIN_PW), timeout=10)
    assert r.status_code == 200
    if server.kind == "mlp":
        # Every request's log line names its caller.
        import time
        time.sleep(0.2)
        assert any('"user":"admin"' in line and "experiments/search" in line
                   for line in server.log_text().splitlines())
    # Artifacts are behind the same door.
    r = requests.get(server.url("/api/2.0/mlflow-artifacts/artifacts/0/x/artifacts/a.txt"), timeout=10)
    assert r.status_code == 401


def test_users_lifecycle(server):
    name = uniq("user")
    with as_user(ADMIN, ADMIN_PW):
        ac = admin_client(server)
        user = ac.create_user(name, PW)
        assert (user.username, user.is_admin) == (name, False)
        assert ac.get_user(name).id == user.id
        assert error_code(ac.create_user, name, PW) == "RESOURCE_ALREADY_EXISTS"
        assert error_code(ac.create_user, uniq("short"), "short") == "INVALID_PARAMETER_VALUE"
        assert error_code(ac.get_user, uniq("missing")) == "RESOURCE_DOES_NOT_EXIST"
        listed = requests.get(server.url("/api/2.0/mlflow/users/list"), auth=(ADMIN, ADMIN_PW), timeout=10)
        assert name in [u["username"] for u in listed.json()["users"]]
    with as_user(name, PW):
        ac = admin_client(server)
        assert ac.get_user(name).username == name
        denied(ac.get_user, ADMIN)
        denied(ac.create_user, uniq("sneaky"), PW)
        denied(ac.update_user_admin, name, True)
        denied(ac.delete_user, ADMIN)
        current = requests.get(server.url("/api/2.0/mlflow/users/current"), auth=(name, PW), timeout=10).json()
        assert current["user"]["username"] == name and current["user"]["is_admin"] is False
        # One's own password needs the current one.
        assert error_code(ac.update_user_password, name, "another-password-1") == "INVALID_PARAMETER_VALUE"
        assert error_code(ac.update_user_password, name, "another-password-1",
                          current_password="not-the-password") == "INVALID_PARAMETER_VALUE"
        ac.update_user_password(name, "another-password-1", current_password=PW)
    assert requests.get(server.url("/api/2.0/mlflow/users/current"), auth=(name, PW), timeout=10).status_code == 401
    assert requests.get(server.url("/api/2.0/mlflow/users/current"), auth=(name, "another-password-1"),
                        timeout=10).status_code == 200
    with as_user(ADMIN, ADMIN_PW):
        ac = admin_client(server)
        ac.update_user_admin(name, True)
        assert ac.get_user(name).is_admin is True
        assert error_code(ac.delete_user, ADMIN) in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE")
        ac.delete_user(name)
        assert error_code(ac.get_user, name) == "RESOURCE_DOES_NOT_EXIST"
    assert requests.get(server.url("/api/2.0/mlflow/users/current"), auth=(name, "another-password-1"),
                        timeout=10).status_code == 401


def test_creator_gets_manage_and_others_the_default(server):
    alice, bob = new_user(server), new_user(server)
    with as_user(alice, PW):
        c = MlflowClient(server.base)
        exp = c.create_experiment(uniq("exp"))
        run = c.create_run(exp).info.run_id
        c.log_metric(run, "m", 1.0)
    with as_user(ADMIN, ADMIN_PW):
        ac = admin_client(server)
        assert ac.get_user_permission(alice, "experiment", exp).permission == "MANAGE"
        got = ac.get_user_permission(bob, "experiment", exp)
        assert (got.permission, got.allowed) == ("READ", False)
    with as_user(bob, PW):
        c = MlflowClient(server.base)
        assert c.get_experiment(exp).experiment_id == exp
        assert c.get_run(run).data.metrics == {"m": 1.0}
        denied(c.log_metric, run, "m", 2.0)
        denied(c.create_run, exp)
        denied(c.set_experiment_tag, exp, "k", "v")
        denied(c.delete_experiment, exp)
        # Only a MANAGE holder grants.
        denied(admin_client(server).grant_user_permission, bob, "experiment", exp, "MANAGE")
        assert admin_client(server).get_user_permission(bob, "experiment", exp).permission == "READ"
    with as_user(alice, PW):
        admin_client(server).grant_user_permission(bob, "experiment", exp, "EDIT")
        assert error_code(admin_client(server).grant_user_permission, bob, "experiment", exp,
                          "EDIT") == "RESOURCE_ALREADY_EXISTS"
    with as_user(bob, PW):
        c = MlflowClient(server.base)
        c.log_metric(run, "m", 2.0)
        c.create_run(exp)
        denied(c.delete_experiment, exp)
        denied(c.delete_run, run)
    with as_user(alice, PW):
        admin_client(server).revoke_user_permission(bob, "experiment", exp)
    with as_user(bob, PW):
        denied(MlflowClient(server.base).log_metric, run, "m", 3.0)
    with as_user(alice, PW):
        history = MlflowClient(server.base).get_metric_history(run, "m")
        assert [m.value for m in history] == [1.0, 2.0]


def test_deny_hides_experiments_and_their_runs(server):
    alice, bob = new_user(server), new_user(server)
    with as_user(alice, PW):
        c = MlflowClient(server.base)
        hidden, shown = c.create_experiment(uniq("hidden")), c.create_experiment(uniq("shown"))
        hidden_run = c.create_run(hidden).info.run_id
        shown_run = c.create_run(shown).info.run_id
    with as_user(ADMIN, ADMIN_PW):
        admin_client(server).grant_user_permission(bob, "experiment", hidden, "DENY")
    with as_user(bob, PW):
        c = MlflowClient(server.base)
        ids = {e.experiment_id for e in c.search_experiments(max_results=1000)}
        assert shown in ids and hidden not in ids
        runs = {r.info.run_id for r in c.search_runs([hidden, shown])}
        assert shown_run in runs and hidden_run not in runs
        denied(c.get_experiment, hidden)
        denied(c.get_run, hidden_run)
    with as_user(alice, PW):
        ids = {e.experiment_id for e in MlflowClient(server.base).search_experiments(max_results=1000)}
        assert {hidden, shown} <= ids


def test_artifacts_follow_their_run(server, tmp_path):
    alice, bob = new_user(server), new_user(server)
    src = tmp_path / "a.txt"
    src.write_text("alice's artifact")
    with as_user(alice, PW):
        c = MlflowClient(server.base)
        exp = c.create_experiment(uniq("art"))
        run = c.create_run(exp).info.run_id
        c.log_artifact(run, str(src))
    with as_user(bob, PW):
        c = MlflowClient(server.base)
        assert [f.path for f in c.list_artifacts(run)] == ["a.txt"]
        out = c.download_artifacts(run, "a.txt", str(tmp_path / "bob1"))
        assert Path(out).read_text() == "alice's artifact"
        other = tmp_path / "b.txt"
        other.write_text("bob's")
        denied(c.log_artifact, run, str(other))
    with as_user(alice, PW):
        assert [f.path for f in MlflowClient(server.base).list_artifacts(run)] == ["a.txt"]
    with as_user(ADMIN, ADMIN_PW):
        admin_client(server).grant_user_permission(bob, "experiment", exp, "DENY")
    with as_user(bob, PW):
        c = MlflowClient(server.base)
        denied(c.download_artifacts, run, "a.txt", str(tmp_path / "bob2"))
        denied(c.list_artifacts, run)


def test_registry_permissions_follow_the_registered_model(server):
    alice, bob, carol = new_user(server), new_user(server), new_user(server)
    name = uniq("model")
    with as_user(alice, PW):
        c = MlflowClient(server.base)
        exp = c.create_experiment(uniq("reg"))
        run = c.create_run(exp).info.run_id
        c.create_registered_model(name)
        c.create_model_version(name, f"runs:/{run}/model", run_id=run)
    with as_user(ADMIN, ADMIN_PW):
        assert admin_client(server).get_user_permission(alice, "registered_model", name).permission == "MANAGE"
    with as_user(bob, PW):
        c = MlflowClient(server.base)
        assert c.get_registered_model(name).name == name
        assert c.get_model_version(name, "1").version == "1"
        denied(c.set_registered_model_tag, name, "k", "v")
        denied(c.create_model_version, name, f"runs:/{run}/model", run_id=run)
        denied(c.delete_registered_model, name)
    with as_user(alice, PW):
        admin_client(server).grant_user_permission(bob, "registered_model", name, "EDIT")
    with as_user(bob, PW):
        c = MlflowClient(server.base)
        c.set_registered_model_tag(name, "k", "v")
        c.update_model_version(name, "1", description="by bob")
        denied(c.delete_model_version, name, "1")
    with as_user(ADMIN, ADMIN_PW):
        admin_client(server).grant_user_permission(carol, "registered_model", name, "DENY")
    with as_user(carol, PW):
        c = MlflowClient(server.base)
        assert c.search_registered_models(f"name = '{name}'") == []
        assert list(c.search_model_versions(f"name = '{name}'")) == []
        denied(c.get_registered_model, name)
    with as_user(alice, PW):
        c = MlflowClient(server.base)
        assert c.get_registered_model(name).tags == {"k": "v"}
        assert len(c.search_model_versions(f"name = '{name}'")) == 1
        # Grants follow a rename.
        c.rename_registered_model(name, name + "-renamed")
    with as_user(ADMIN, ADMIN_PW):
        got = admin_client(server).get_user_permission(bob, "registered_model", name + "-renamed")
        assert got.permission == "EDIT"


def test_a_model_version_needs_read_on_its_source_run(server, mlp_only):
    alice, bob = new_user(server), new_user(server)
    with as_user(alice, PW):
        c = MlflowClient(server.base)
        exp = c.create_experiment(uniq("private"))
        run = c.create_run(exp).info.run_id
    with as_user(ADMIN, ADMIN_PW):
        admin_client(server).grant_user_permission(bob, "experiment", exp, "DENY")
    name = uniq("bobs")
    with as_user(bob, PW):
        c = MlflowClient(server.base)
        c.create_registered_model(name)
        # bob owns the model but may not read alice's run: neither by run_id nor by source.
        denied(c.create_model_version, name, f"runs:/{run}/model", run_id=run)
        denied(c.create_model_version, name, f"runs:/{run}/model")
        assert list(c.search_model_versions(f"name = '{name}'")) == []
    with as_user(ADMIN, ADMIN_PW):
        admin_client(server).revoke_user_permission(bob, "experiment", exp)
    with as_user(bob, PW):
        assert MlflowClient(server.base).create_model_version(name, f"runs:/{run}/model", run_id=run).version == "1"


def test_grant_errors(server):
    bob = new_user(server)
    with as_user(ADMIN, ADMIN_PW):
        ac = admin_client(server)
        assert error_code(ac.grant_user_permission, uniq("nobody"), "experiment", "0", "READ") == \
            "RESOURCE_DOES_NOT_EXIST"
        assert error_code(ac.grant_user_permission, bob, "experiment", "0", "SUPERPOWER") == \
            "INVALID_PARAMETER_VALUE"
        # NO_PERMISSIONS is what a user without a grant may have, not something to grant.
        assert error_code(ac.grant_user_permission, bob, "experiment", "0", "NO_PERMISSIONS") == \
            "INVALID_PARAMETER_VALUE"
        assert error_code(ac.revoke_user_permission, bob, "experiment", "0") == "RESOURCE_DOES_NOT_EXIST"


def test_tokens(server, mlp_only):
    user = new_user(server)
    assert requests.post(server.url("/api/v1/tokens"), json={"name": "x"}, timeout=10).status_code == 401
    r = requests.post(server.url("/api/v1/tokens"), json={"name": "laptop", "expires_in_days": 1},
                      auth=(user, PW), timeout=10)
    assert r.status_code == 200, r.text
    secret, token_id = r.json()["secret"], r.json()["token"]["id"]
    assert secret.startswith("mlp_")
    listed = requests.get(server.url("/api/v1/tokens"), auth=(user, PW), timeout=10)
    assert [t["name"] for t in listed.json()["tokens"]] == ["laptop"]
    assert secret not in listed.text and "secret" not in listed.text
    with with_token(secret):
        c = MlflowClient(server.base)
        exp = c.create_experiment(uniq("tok"))
        assert admin_client(server).get_user(user).username == user
    with as_user(ADMIN, ADMIN_PW):
        assert admin_client(server).get_user_permission(user, "experiment", exp).permission == "MANAGE"
    bad = requests.get(server.url("/api/2.0/mlflow/users/current"),
                       headers={"Authorization": "Bearer mlp_not-a-token"}, timeout=10)
    assert bad.status_code == 401
    # Only the owner revokes.
    other = new_user(server)
    assert requests.delete(server.url(f"/api/v1/tokens/{token_id}"), auth=(other, PW),
                           timeout=10).status_code == 404
    assert requests.delete(server.url(f"/api/v1/tokens/{token_id}"), auth=(user, PW),
                           timeout=10).status_code == 200
    gone = requests.get(server.url("/api/2.0/mlflow/users/current"),
                        headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert gone.status_code == 401
    assert requests.post(server.url("/api/v1/tokens"), json={"name": "old", "expires_at": 1000},
                         auth=(user, PW), timeout=10).status_code == 400


def test_roles_combine_with_user_grants(server):
    alice, bob = new_user(server), new_user(server)
    with as_user(ADMIN, ADMIN_PW):
        ac, c = admin_client(server), MlflowClient(server.base)
        exp_a, exp_b = c.create_experiment(uniq("role-a")), c.create_experiment(uniq("role-b"))
        role = ac.create_role("default", uniq("writers"), description="can write")
        assert (role.workspace, role.description, role.permissions) == ("default", "can write", [])
        assert error_code(ac.create_role, "default", role.name) == "RESOURCE_ALREADY_EXISTS"
        rp = ac.add_role_permission(role.id, "experiment", exp_a, "EDIT")
        assert (rp.role_id, rp.resource_type, rp.resource_pattern, rp.permission) == \
            (role.id, "experiment", exp_a, "EDIT")
        assert error_code(ac.add_role_permission, role.id, "experiment", exp_a, "READ") == \
            "RESOURCE_ALREADY_EXISTS"
        assert error_code(ac.add_role_permission, role.id, "workspace", "*", "READ") == "INVALID_PARAMETER_VALUE"
        assert error_code(ac.add_role_permission, role.id, "experiment", exp_a, "BOGUS") == \
            "INVALID_PARAMETER_VALUE"
        deny = ac.add_role_permission(role.id, "experiment", exp_b, "DENY")
        assert [p.id for p in ac.list_role_permissions(role.id)] == [rp.id, deny.id]
        assert ac.get_role(role.id).name == role.name
        assert role.id in [r.id for r in ac.list_roles("default")]
        assert ac.assign_role(alice, role.id).role_id == role.id
        assert error_code(ac.assign_role, alice, role.id) == "RESOURCE_ALREADY_EXISTS"
        assert [r.id for r in ac.list_user_roles(alice)] == [role.id]
        assert [a.user_id for a in ac.list_role_users(role.id)] == [ac.get_user(alice).id]
        listed = requests.get(server.url("/api/2.0/mlflow/users/list"), auth=(ADMIN, ADMIN_PW), timeout=10).json()
        assert [r["name"] for u in listed["users"] if u["username"] == alice for r in u["roles"]] == [role.name]
        assert error_code(ac.get_role, 999999) == "RESOURCE_DOES_NOT_EXIST"
    # EDIT on A through the role; DENY on B beats the default READ and hides B from search.
    with as_user(alice, PW):
        c = MlflowClient(server.base)
        c.log_metric(c.create_run(exp_a).info.run_id, "m", 1.0)
        denied(c.get_experiment, exp_b)
        assert exp_b not in [e.experiment_id for e in c.search_experiments()]
        assert [r.id for r in admin_client(server).list_user_roles(alice)] == [role.id]
        denied(admin_client(server).create_role, "default", uniq("nope"))
    with as_user(bob, PW):
        denied(MlflowClient(server.base).create_run, exp_a)
        denied(admin_client(server).list_user_roles, alice)
    # A DENY from a role wins over a direct EDIT; otherwise the highest level wins.
    with as_user(ADMIN, ADMIN_PW):
        ac.grant_user_permission(alice, "experiment", exp_b, "EDIT")
    with as_user(alice, PW):
        denied(MlflowClient(server.base).create_run, exp_b)
    with as_user(ADMIN, ADMIN_PW):
        assert ac.update_role_permission(deny.id, "READ").permission == "READ"
    with as_user(alice, PW):
        MlflowClient(server.base).create_run(exp_b)
    # A workspace admin (MANAGE on workspace *) manages roles and every resource.
    with as_user(ADMIN, ADMIN_PW):
        admins = ac.create_role("default", uniq("ws-admins"))
        ac.add_role_permission(admins.id, "workspace", "*", "MANAGE")
        ac.assign_role(bob, admins.id)
    with as_user(bob, PW):
        MlflowClient(server.base).delete_experiment(exp_b)
        admin_client(server).delete_role(admins.id)
    with as_user(bob, PW):
        denied(MlflowClient(server.base).create_run, exp_a)
    # Rename, unassign (the role's EDIT goes at once), remove, delete.
    with as_user(ADMIN, ADMIN_PW):
        new_name = uniq("renamed")
        assert ac.update_role(role.id, name=new_name).name == new_name
        ac.unassign_role(alice, role.id)
        # MLflow also lists the synthetic `__user_<id>__` role holding direct grants; mlp does not.
        assert [r.id for r in ac.list_user_roles(alice) if not r.name.startswith("__user_")] == []
        assert error_code(ac.unassign_role, alice, role.id) == "RESOURCE_DOES_NOT_EXIST"
    with as_user(alice, PW):
        denied(MlflowClient(server.base).create_run, exp_a)
    with as_user(ADMIN, ADMIN_PW):
        ac.remove_role_permission(rp.id)
        assert [p.id for p in ac.list_role_permissions(role.id)] == [deny.id]
        ac.delete_role(role.id)
        assert error_code(ac.get_role, role.id) == "RESOURCE_DOES_NOT_EXIST"


def job_runners(server, *users: str) -> int:
    """Gives `users` the jobs capability as an admin does: a role with USE on `jobs` `*`."""
    with as_user(ADMIN, ADMIN_PW):
        ac = admin_client(server)
        role = ac.create_role("default", uniq("job-runners"))
        ac.add_role_permission(role.id, "jobs", "*", "USE")
        for u in users:
            ac.assign_role(u, role.id)
    return role.id


def submit(server, auth, **spec):
    spec = {"kind": "training", "command": ["true"], **spec}
    spec.setdefault("name", uniq("job"))
    return requests.post(server.url("/api/v1/jobs"), json=spec, auth=auth, timeout=30)


def wait_job(server, auth, job_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(server.url(f"/api/v1/jobs/{job_id}"), auth=auth, timeout=10).json()["job"]
        if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_jobs_need_the_jobs_capability_from_a_role(server, mlp_only):
    eve = new_user(server)
    # A job runs a command on the workers: EDIT on an experiment is not enough, and a new
    # experiment (which anyone may create) is not a way around it. Nothing is created.
    exp_name = uniq("no-capability")
    r = submit(server, (eve, PW), experiment_name=exp_name, command=["true"])
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED", r.text
    assert "jobs capability" in r.json()["message"]
    with as_user(ADMIN, ADMIN_PW):
        assert MlflowClient(server.base).get_experiment_by_name(exp_name) is None
        ac = admin_client(server)
        role = ac.create_role("default", uniq("bad-jobs-role"))
        # The capability is all or nothing: USE on `*`.
        for pattern, level in (("*", "READ"), ("*", "EDIT"), ("gpu", "USE")):
            assert error_code(ac.add_role_permission, role.id, "jobs", pattern, level) == "INVALID_PARAMETER_VALUE"
    role_id = job_runners(server, eve)
    r = submit(server, (eve, PW), experiment_name=exp_name, command=["sleep", "60"])
    assert r.status_code == 200, r.text
    job_id = r.json()["job"]["job_id"]
    # Taken away, it stops cancelling and following too (the job itself stays hers to see).
    with as_user(ADMIN, ADMIN_PW):
        admin_client(server).unassign_role(eve, role_id)
    for path in ("cancel", "logs"):
        method = requests.post if path == "cancel" else requests.get
        kwargs = {"json": {}} if path == "cancel" else {}
        r = method(server.url(f"/api/v1/jobs/{job_id}/{path}"), auth=(eve, PW), timeout=10, **kwargs)
        assert r.status_code == 403, (path, r.text)
    assert requests.get(server.url(f"/api/v1/jobs/{job_id}"), auth=(eve, PW), timeout=10).status_code == 200
    r = requests.post(server.url(f"/api/v1/jobs/{job_id}/cancel"), json={}, auth=(ADMIN, ADMIN_PW), timeout=10)
    assert r.status_code == 200, r.text


def test_jobs_need_edit_on_their_experiment_and_belong_to_their_submitter(server, mlp_only):
    bob, carol, dave = new_user(server), new_user(server), new_user(server)
    job_runners(server, bob, carol, dave)
    # The Default experiment: READ by default, so no jobs there.
    r = submit(server, (bob, PW))
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    # An invalid spec is refused before its experiment is created.
    bad_name = uniq("never")
    r = submit(server, (bob, PW), experiment_name=bad_name, command=[])
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    with as_user(ADMIN, ADMIN_PW):
        assert MlflowClient(server.base).get_experiment_by_name(bad_name) is None
    # A new experiment is open to anyone, as creating one is; its creator gets MANAGE.
    exp_name = uniq("jobs")
    r = submit(server, (bob, PW), experiment_name=exp_name, command=["sleep", "60"])
    assert r.status_code == 200, r.text
    bob_job = r.json()["job"]
    assert bob_job["owner"] == bob
    with as_user(ADMIN, ADMIN_PW):
        ac = admin_client(server)
        assert ac.get_user_permission(bob, "experiment", bob_job["experiment_id"]).permission == "MANAGE"
        ac.grant_user_permission(carol, "experiment", bob_job["experiment_id"], "EDIT")
    # EDIT lets carol submit into it; READ does not let dave.
    r = submit(server, (carol, PW), experiment_name=exp_name, command=["sleep", "60"])
    assert r.status_code == 200, r.text
    carol_job = r.json()["job"]
    assert submit(server, (dave, PW), experiment_name=exp_name).status_code == 403
    # Each sees their own jobs; another's is as absent as a missing one.
    for user, mine, theirs in ((bob, bob_job, carol_job), (carol, carol_job, bob_job)):
        listed = requests.get(server.url("/api/v1/jobs"), auth=(user, PW), timeout=10).json()["jobs"]
        assert [j["job_id"] for j in listed] == [mine["job_id"]]
        r = requests.get(server.url(f"/api/v1/jobs/{theirs['job_id']}"), auth=(user, PW), timeout=10)
        assert r.status_code == 404
        for path in ("cancel", "logs"):
            method = requests.post if path == "cancel" else requests.get
            kwargs = {"json": {}} if path == "cancel" else {}
            r = method(server.url(f"/api/v1/jobs/{theirs['job_id']}/{path}"), auth=(user, PW), timeout=10, **kwargs)
            assert r.status_code == 404, (path, r.text)
    assert requests.get(server.url(f"/api/v1/jobs/{bob_job['job_id']}"), auth=(carol, PW),
                        timeout=10).json().get("job") is None
    # Carol's cancel attempt left bob's job alone; bob cancels his own, the admin carol's.
    assert not requests.get(server.url(f"/api/v1/jobs/{bob_job['job_id']}"), auth=(bob, PW),
                            timeout=10).json()["job"]["cancel_requested"]
    r = requests.post(server.url(f"/api/v1/jobs/{bob_job['job_id']}/cancel"), json={}, auth=(bob, PW), timeout=10)
    assert r.status_code == 200, r.text
    r = requests.post(server.url(f"/api/v1/jobs/{carol_job['job_id']}/cancel"), json={}, auth=(ADMIN, ADMIN_PW),
                      timeout=10)
    assert r.status_code == 200, r.text
    everyone = requests.get(server.url("/api/v1/jobs"), params={"max_results": 1000}, auth=(ADMIN, ADMIN_PW),
                            timeout=10).json()["jobs"]
    assert {bob_job["job_id"], carol_job["job_id"]} <= {j["job_id"] for j in everyone}
    assert wait_job(server, (bob, PW), bob_job["job_id"])["state"] == "CANCELLED"


JOB_SCRIPT = r"""
import json, os, mlflow
from mlflow import MlflowClient

c = MlflowClient()
run_id, exp_id = os.environ["MLFLOW_RUN_ID"], os.environ["MLFLOW_EXPERIMENT_ID"]
with mlflow.start_run(run_id=run_id):
    mlflow.log_metric("loss", 0.25)
    mlflow.log_param("lr", "0.1")
    mlflow.log_text("hello", "out/hello.txt")

def outcome(fn):
    try:
        fn()
        return "ok"
    except Exception as e:
        return getattr(e, "error_code", None) or type(e).__name__

res = {
    "own_experiment": outcome(lambda: c.get_experiment(exp_id)),
    "other_run_write": outcome(lambda: c.log_metric(os.environ["OTHER_RUN"], "x", 1.0)),
    "other_run_read": outcome(lambda: c.get_run(os.environ["OTHER_RUN"])),
    "other_experiment": outcome(lambda: c.get_experiment(os.environ["OTHER_EXP"])),
    "new_run": outcome(lambda: c.create_run(exp_id)),
    "delete_own_run": outcome(lambda: c.delete_run(run_id)),
    # The registry, with the submitter's permissions, for versions of this run only.
    "register": outcome(lambda: (c.create_registered_model(os.environ["MODEL"]),
                                 c.create_model_version(os.environ["MODEL"], f"runs:/{run_id}/out", run_id=run_id))),
    "read_version": outcome(lambda: c.get_model_version(os.environ["MODEL"], "1")),
    "register_other_run": outcome(lambda: c.create_model_version(
        os.environ["MODEL"], f"runs:/{os.environ['OTHER_RUN']}/x", run_id=os.environ["OTHER_RUN"])),
    "delete_model": outcome(lambda: c.delete_registered_model(os.environ["MODEL"])),
    "search": sorted({r.info.experiment_id for r in c.search_runs([exp_id, os.environ["OTHER_EXP"]])}),
}
print("RESULT " + json.dumps(res))
print("TOKEN " + os.environ["MLFLOW_TRACKING_TOKEN"])
"""


def test_a_job_logs_to_its_run_with_its_own_token(server, mlp_only):
    user = new_user(server)
    with as_user(ADMIN, ADMIN_PW):
        c = MlflowClient(server.base)
        other_exp = c.create_experiment(uniq("other"))
        other_run = c.create_run(other_exp).info.run_id
    job_runners(server, user)
    model = uniq("job-model")
    r = submit(server, (user, PW), experiment_name=uniq("job-token"),
               command=[sys.executable, "-c", JOB_SCRIPT],
               env={"OTHER_RUN": other_run, "OTHER_EXP": other_exp, "MODEL": model})
    assert r.status_code == 200, r.text
    job = wait_job(server, (user, PW), r.json()["job"]["job_id"])
    log = requests.get(server.url(f"/api/v1/jobs/{job['job_id']}/logs"), auth=(user, PW), timeout=10).text
    assert job["state"] == "SUCCEEDED", (job, log, requests.get(
        server.url(f"/api/v1/jobs/{job['job_id']}/logs"), params={"stream": "stderr"}, auth=(user, PW),
        timeout=10).text[-3000:])
    lines = dict(line.split(" ", 1) for line in log.splitlines() if line.startswith(("RESULT ", "TOKEN ")))
    res, token = json.loads(lines["RESULT"]), lines["TOKEN"]
    assert res == {
        "own_experiment": "ok",
        "other_run_write": "PERMISSION_DENIED",
        "other_run_read": "PERMISSION_DENIED",
        "other_experiment": "PERMISSION_DENIED",
        "new_run": "PERMISSION_DENIED",
        "delete_own_run": "PERMISSION_DENIED",
        "register": "ok",
        "read_version": "ok",
        "register_other_run": "PERMISSION_DENIED",
        "delete_model": "PERMISSION_DENIED",
        "search": [job["experiment_id"]],
    }
    assert token.startswith("mlpj_") and not token.startswith("mlp_")
    with as_user(user, PW):
        c = MlflowClient(server.base)
        run = c.get_run(job["run_id"])
        assert run.data.metrics == {"loss": 0.25} and run.data.params == {"lr": "0.1"}
        assert c.download_artifacts(job["run_id"], "out/hello.txt", tempfile.mkdtemp()).endswith("hello.txt")
        assert c.get_model_version(model, "1").run_id == job["run_id"]
    with as_user(ADMIN, ADMIN_PW):
        assert MlflowClient(server.base).get_run(other_run).data.metrics == {}
        # What the job created in the registry is its submitter's.
        assert admin_client(server).get_user_permission(user, "registered_model", model).permission == "MANAGE"
    # Revoked when the attempt ended (the server trusts a verified job token for 2 s at most).
    time.sleep(2.5)
    r = requests.get(server.url("/api/2.0/mlflow/runs/get"), params={"run_id": job["run_id"]},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 401, r.text


RANK_SCRIPT = r"""
import json, os
from mlflow import MlflowClient

c = MlflowClient()
rank, run_id = os.environ["RANK"], os.environ["MLFLOW_RUN_ID"]
c.log_param(run_id, "rank", rank)
parent = c.get_run(run_id).data.tags.get("mlflow.parentRunId")
res = {"rank": rank}
if parent:
    try:
        c.log_param(parent, "from_rank", rank)
        res["parent_write"] = "ok"
    except Exception as e:
        res["parent_write"] = getattr(e, "error_code", None) or type(e).__name__
print("RESULT " + json.dumps(res))
"""


def test_each_rank_of_a_distributed_job_logs_with_its_own_token(server, mlp_only):
    """Rank 0 writes the job's run; rank 1 its child run, with a token of its own that may not
    write rank 0's run."""
    user = new_user(server)
    job_runners(server, user)
    r = submit(server, (user, PW), experiment_name=uniq("ddp-token"), replicas=2,
               command=[sys.executable, "-c", RANK_SCRIPT])
    assert r.status_code == 200, r.text
    job = wait_job(server, (user, PW), r.json()["job"]["job_id"])
    logs = [requests.get(server.url(f"/api/v1/jobs/{job['job_id']}/logs"), params={"rank": rank},
                         auth=(user, PW), timeout=10).text for rank in (0, 1)]
    assert job["state"] == "SUCCEEDED", (job, logs)
    results = [json.loads(line.split(" ", 1)[1]) for log in logs for line in log.splitlines()
               if line.startswith("RESULT ")]
    assert results == [{"rank": "0"}, {"rank": "1", "parent_write": "PERMISSION_DENIED"}]
    with as_user(user, PW):
        c = MlflowClient(server.base)
        assert c.get_run(job["run_id"]).data.params == {"rank": "0"}
        children = c.search_runs([job["experiment_id"]], f"tags.mlflow.parentRunId = '{job['run_id']}'")
        assert [(ch.data.params, ch.info.status) for ch in children] == [({"rank": "1"}, "FINISHED")]


def mlp(server, *args, user=None, password=None, token=None, stdin=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLP_"))}
    env["MLP_SERVER"] = server.base
    if token:
        env["MLP_TOKEN"] = token
    elif user:
        env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"] = user, password
    return subprocess.run([os.environ["MLP_BIN"], *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_user_and_token_commands(server, mlp_only, tmp_path):
    admin = {"user": ADMIN, "password": ADMIN_PW}
    name = uniq("cli")
    pw = tmp_path / "pw"
    pw.write_text(PW + "\n")
    r = mlp(server, "user", "create", name, "--password-file", str(pw), **admin)
    assert r.returncode == 0, r.stderr
    listed = mlp(server, "user", "list", "--json", **admin)
    assert {"username": name, "is_admin": False} in [
        {k: u[k] for k in ("username", "is_admin")} for u in json.loads(listed.stdout)]
    # Readable errors and a non-zero exit: a duplicate, a non-admin, no credentials.
    r = mlp(server, "user", "create", name, "--password-file", str(pw), **admin)
    assert r.returncode != 0 and "RESOURCE_ALREADY_EXISTS" in r.stderr and "already exists" in r.stderr
    r = mlp(server, "user", "create", uniq("x"), "--password-file", str(pw), user=name, password=PW)
    assert r.returncode != 0 and "PERMISSION_DENIED" in r.stderr
    assert "UNAUTHENTICATED" in mlp(server, "user", "list").stderr
    # set-admin, set-password (own: needs the current one), then log in with the new one.
    assert mlp(server, "user", "set-admin", name, "true", **admin).returncode == 0
    assert "yes" in [line.split()[-1] for line in mlp(server, "user", "list", **admin).stdout.splitlines()
                     if line.startswith(name + " ")]
    new_pw = tmp_path / "new"
    new_pw.write_text("another-password-for-tests")
    r = mlp(server, "user", "set-password", name, "--password-file", str(new_pw), user=name, password=PW)
    assert r.returncode != 0 and "Current password" in r.stderr
    r = mlp(server, "user", "set-password", name, "--password-file", str(new_pw), "--current-password-file",
            str(pw), user=name, password=PW)
    assert r.returncode == 0, r.stderr
    # Tokens: the secret on stdout only, listed without it, revoked.
    r = mlp(server, "token", "create", "laptop", "--expires-in-days", "3", user=name,
            password="another-password-for-tests")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    assert secret.startswith("mlp_") and secret not in r.stderr
    listed = mlp(server, "token", "list", token=secret)
    assert "laptop" in listed.stdout and secret not in listed.stdout
    token_id = json.loads(mlp(server, "token", "list", "--json", token=secret).stdout)[0]["id"]
    assert mlp(server, "token", "revoke", token_id, token=secret).returncode == 0
    assert mlp(server, "token", "list", token=secret).returncode != 0
    r = mlp(server, "token", "revoke", "nope", user=name, password="another-password-for-tests")
    assert r.returncode != 0 and "RESOURCE_DOES_NOT_EXIST" in r.stderr
    assert mlp(server, "user", "delete", name, **admin).returncode == 0
    assert name not in mlp(server, "user", "list", **admin).stdout


def test_failed_logins_are_throttled_per_user_and_address(server, mlp_only):
    victim, other = new_user(server), new_user(server)
    url = server.url("/api/2.0/mlflow/users/current")
    for _ in range(10):
        assert requests.get(url, auth=(victim, "wrong-password-123"), timeout=10).status_code == 401
    # Now even the right password is refused for this user from this address, as a 401 (the
    # mlflow client retries 429) saying why, without a password hash being checked.
    r = requests.get(url, auth=(victim, PW), timeout=10)
    assert r.status_code == 401 and "Too many failed logins" in r.json()["message"]
    assert 0 < int(r.headers["Retry-After"]) <= 300
    assert requests.get(url, auth=(other, PW), timeout=10).status_code == 200


def test_refuses_to_start_without_an_admin_password(server, mlp_only):
    srv = start(Path(tempfile.mkdtemp(prefix="mlp-auth-nopw-")), admin_password=None)
    try:
        srv.proc.wait(timeout=30)
        assert srv.proc.returncode != 0
        assert "MLP__AUTH__ADMIN_PASSWORD" in srv.log_text()
    finally:
        srv.stop()


def test_auth_on_may_listen_beyond_loopback(server, mlp_only):
    # Without auth this is refused unless the operator passes the unsafe flag (tests/security).
    srv = start(Path(tempfile.mkdtemp(prefix="mlp-auth-net-")), extra_env={"MLP__SERVER__HOST": "0.0.0.0"})
    try:
        assert srv.proc.poll() is None, srv.log_text()[-2000:]
        r = requests.get(srv.url("/api/2.0/mlflow/experiments/search"), params={"max_results": 1}, timeout=10)
        assert r.status_code == 401
    finally:
        srv.stop()
