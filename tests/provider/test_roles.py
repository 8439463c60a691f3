"""mlp_role, mlp_role_permission and mlp_role_assignment against the server's roles API
(MLflow 3.17.2's /api/3.0/mlflow/roles/*)."""

import uuid

import requests

ROLES = "/api/3.0/mlflow/roles"


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def role_hcl(name: str, description: str | None, exp: str, perm: str, extra: str = "") -> str:
    desc = "" if description is None else f'  description = "{description}"\n'
    return (
        f'resource "mlp_experiment" "e" {{\n  name = "{exp}"\n}}\n'
        f'resource "mlp_role" "r" {{\n  name = "{name}"\n{desc}}}\n'
        'resource "mlp_role_permission" "p" {\n  role_id = mlp_role.r.id\n'
        f'  resource_type = "experiment"\n  resource_pattern = mlp_experiment.e.id\n  permission = "{perm}"\n}}\n'
        + extra
    )


def role_perms(api, role_id: str) -> dict:
    rows = api.call("GET", f"{ROLES}/permissions/list", role_id=role_id)["role_permissions"]
    return {(r["resource_type"], r["resource_pattern"]): r["permission"] for r in rows}


def test_role_and_permission_lifecycle(tf, api, server):
    name, exp = uniq("ml-engineers"), uniq("role-exp")
    tf.write(role_hcl(name, "ML engineers", exp, "READ"))
    tf.run("apply")
    role = tf.resource("mlp_role.r")
    rid = role["id"]
    got = api.call("GET", f"{ROLES}/get", role_id=rid)["role"]
    assert (got["name"], got["workspace"], got["description"]) == (name, "default", "ML engineers")
    eid = api.experiment(exp)["experiment_id"]
    assert role_perms(api, rid) == {("experiment", eid): "READ"}
    perm = tf.resource("mlp_role_permission.p")
    assert perm["id"].startswith(f"{rid}:") and perm["role_id"] == rid
    assert tf.plan_exit()[0] == 0

    # Rename, new description and a higher grant: all in place.
    tf.write(role_hcl(name + "-x", "Renamed", exp, "EDIT"))
    code, out = tf.plan_exit()
    assert code == 2 and "update in-place" in out and "must be replaced" not in out, out
    tf.run("apply")
    got = api.call("GET", f"{ROLES}/get", role_id=rid)["role"]
    assert (got["name"], got["description"]) == (name + "-x", "Renamed")
    assert role_perms(api, rid) == {("experiment", eid): "EDIT"}
    assert tf.resource("mlp_role_permission.p")["id"] == perm["id"]
    assert tf.plan_exit()[0] == 0

    # Drift through the API: the role renamed, the grant changed; the next apply corrects both.
    api.call("PATCH", f"{ROLES}/update", {"role_id": int(rid), "name": "hand-renamed", "description": "by hand"})
    pid = perm["id"].split(":")[1]
    api.call("PATCH", f"{ROLES}/permissions/update", {"role_permission_id": int(pid), "permission": "DENY"})
    code, out = tf.plan_exit()
    assert code == 2 and '"hand-renamed" -> "' in out and '"DENY" -> "EDIT"' in out, out
    tf.run("apply")
    assert api.call("GET", f"{ROLES}/get", role_id=rid)["role"]["name"] == name + "-x"
    assert role_perms(api, rid) == {("experiment", eid): "EDIT"}

    # The grant removed behind Terraform's back: re-added.
    api.call("DELETE", f"{ROLES}/permissions/remove", {"role_permission_id": int(pid)})
    code, out = tf.plan_exit()
    assert code == 2 and "mlp_role_permission.p will be created" in out, out
    tf.run("apply")
    assert role_perms(api, rid) == {("experiment", eid): "EDIT"}

    tf.run("destroy")
    r = requests.get(server.base + f"{ROLES}/get", params={"role_id": rid}, auth=api.s.auth, timeout=10)
    assert r.status_code == 404, r.text


def test_role_import(tf, api):
    name = uniq("imported")
    role = api.call("POST", f"{ROLES}/create", {"name": name, "workspace": "default", "description": "d"})["role"]
    rid = str(role["id"])
    rp = api.call("POST", f"{ROLES}/permissions/add", {
        "role_id": role["id"], "resource_type": "registered_model", "resource_pattern": "*", "permission": "READ",
    })["role_permission"]
    tf.write(
        f'resource "mlp_role" "r" {{\n  name = "{name}"\n  description = "d"\n}}\n'
        'resource "mlp_role_permission" "p" {\n  role_id = mlp_role.r.id\n'
        '  resource_type = "registered_model"\n  resource_pattern = "*"\n  permission = "READ"\n}\n')
    tf.run("import", "mlp_role.r", rid)
    tf.run("import", "mlp_role_permission.p", f"{rid}:{rp['id']}")
    assert tf.resource("mlp_role.r")["workspace"] == "default"
    assert tf.resource("mlp_role_permission.p")["resource_pattern"] == "*"
    code, out = tf.plan_exit()
    assert code == 0, out
    tf.run("destroy")
    assert name not in [r["name"] for r in api.call("GET", f"{ROLES}/list")["roles"]]


def test_role_refusals(tf, api):
    # Plan-time: a workspace grant other than USE/MANAGE, an unsupported resource type.
    tf.write('resource "mlp_role_permission" "p" {\n  role_id = "1"\n  resource_type = "workspace"\n'
             '  resource_pattern = "*"\n  permission = "READ"\n}\n'
             'resource "mlp_role_permission" "q" {\n  role_id = "1"\n  resource_type = "prompt"\n'
             '  resource_pattern = "*"\n  permission = "READ"\n}\n')
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Invalid permission" in p.diag and "USE, MANAGE" in p.diag, p.diag
    assert "Invalid resource_type" in p.diag and "experiment, registered_model, workspace" in p.diag, p.diag
    tf.write('resource "mlp_role" "r" {\n  name = ""\n}\n')
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Invalid name" in p.diag, p.diag
    # The server's refusal reaches the user readably: a workspace that does not exist.
    tf.write(f'resource "mlp_role" "r" {{\n  name = "{uniq("r")}"\n  workspace = "team-b"\n}}\n')
    p = tf.run("apply", check=False)
    assert p.returncode == 1 and "Workspace 'team-b' does not exist" in p.diag, p.diag
    p = tf.run("import", "mlp_role.r", "abc", check=False)
    assert p.returncode == 1 and "numeric ID" in p.diag, p.diag


def assign_hcl(user: str, model: str, roles: list[str]) -> str:
    hcl = (f'resource "mlp_user" "u" {{\n  username = "{user}"\n  password = "team-member-password"\n}}\n'
           # The description is the one can_edit writes, so that editing leaves no drift.
           f'resource "mlp_registered_model" "m" {{\n  name = "{model}"\n  description = "x"\n}}\n')
    for r in ("readers", "editors"):
        hcl += (f'resource "mlp_role" "{r}" {{\n  name = "{user}-{r}"\n}}\n'
                f'resource "mlp_role_permission" "{r}" {{\n  role_id = mlp_role.{r}.id\n'
                f'  resource_type = "registered_model"\n  resource_pattern = mlp_registered_model.m.name\n'
                f'  permission = "{"READ" if r == "readers" else "EDIT"}"\n}}\n')
    for r in roles:
        hcl += (f'resource "mlp_role_assignment" "{r}" {{\n  username = mlp_user.u.username\n'
                f'  role_id = mlp_role.{r}.id\n}}\n')
    return hcl


def user_roles(api, user: str) -> set[str]:
    return {r["name"] for r in api.call("GET", "/api/3.0/mlflow/users/roles/list", username=user)["roles"]}


def can_edit(server, user: str, model: str) -> int:
    return requests.patch(server.base + "/api/2.0/mlflow/registered-models/update",
                          json={"name": model, "description": "x"}, auth=(user, "team-member-password"),
                          timeout=10).status_code


def test_role_assignment_lifecycle(tf, api, server):
    user, model = uniq("erin"), uniq("team-model")
    tf.write(assign_hcl(user, model, ["readers"]))
    tf.run("apply")
    assert user_roles(api, user) == {f"{user}-readers"}
    rid = tf.resource("mlp_role.readers")["id"]
    assert tf.resource("mlp_role_assignment.readers")["id"] == f"{user}:{rid}"
    # The role's grant reaches the user: READ, so no edit.
    assert can_edit(server, user, model) == 403
    assert tf.plan_exit()[0] == 0

    # Moving the user to the editors role replaces the assignment.
    tf.write(assign_hcl(user, model, ["editors"]))
    tf.run("apply")
    assert user_roles(api, user) == {f"{user}-editors"}
    assert can_edit(server, user, model) == 200
    assert tf.plan_exit()[0] == 0

    # Drift: unassigned through the API, then re-assigned by the next apply.
    eid = tf.resource("mlp_role.editors")["id"]
    api.call("DELETE", f"{ROLES}/unassign", {"username": user, "role_id": int(eid)})
    code, out = tf.plan_exit()
    assert code == 2 and "mlp_role_assignment.editors will be created" in out, out
    tf.run("apply")
    assert user_roles(api, user) == {f"{user}-editors"}

    # Import of an assignment made by hand.
    api.call("POST", f"{ROLES}/assign", {"username": user, "role_id": int(rid)})
    tf.write(assign_hcl(user, model, ["editors", "readers"]))
    tf.run("import", "mlp_role_assignment.readers", f"{user}:{rid}")
    assert tf.plan_exit()[0] == 0

    tf.run("destroy", "-target=mlp_role_assignment.readers", "-target=mlp_role_assignment.editors")
    assert user_roles(api, user) == set()
    tf.run("destroy")

    p = tf.run("import", "mlp_role_assignment.readers", "no-role-id", check=False)
    assert p.returncode == 1 and "<username>:<role_id>" in p.diag, p.diag
