"""mlp_user and mlp_permission against the server's auth API (authentication on)."""

import uuid

import requests


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def can_login(server, user: str, password: str) -> bool:
    r = requests.get(server.base + "/api/2.0/mlflow/users/current", auth=(user, password), timeout=10)
    return r.status_code == 200


def user_hcl(name: str, password: str, admin: bool | None = None) -> str:
    extra = "" if admin is None else f"  is_admin = {str(admin).lower()}\n"
    return f'resource "mlp_user" "u" {{\n  username = "{name}"\n  password = "{password}"\n{extra}}}\n'


def test_user_lifecycle(tf, api, server):
    name = uniq("alice")
    tf.write(user_hcl(name, "first-password-123"))
    tf.run("apply")
    assert can_login(server, name, "first-password-123")
    u = api.call("GET", "users/get", username=name)["user"]
    assert u["is_admin"] is False
    state = tf.resource("mlp_user.u")
    assert state["user_id"] == u["id"] and state["is_admin"] is None
    assert tf.plan_exit()[0] == 0
    # The password is sensitive: plans never print it.
    tf.write(user_hcl(name, "second-password-456", admin=True))
    code, out = tf.plan_exit()
    assert code == 2 and "(sensitive value)" in out and "second-password-456" not in out, out
    tf.run("apply")
    assert can_login(server, name, "second-password-456") and not can_login(server, name, "first-password-123")
    assert api.call("GET", "users/get", username=name)["user"]["is_admin"] is True

    # Drift: admin taken away through the API.
    api.call("PATCH", "users/update-admin", {"username": name, "is_admin": False})
    code, out = tf.plan_exit()
    assert code == 2 and "is_admin" in out, out
    tf.run("apply")
    assert api.call("GET", "users/get", username=name)["user"]["is_admin"] is True

    # Deleted behind Terraform's back: recreated.
    api.call("DELETE", "users/delete", {"username": name})
    code, out = tf.plan_exit()
    assert code == 2 and "mlp_user.u will be created" in out, out
    tf.run("apply")
    assert can_login(server, name, "second-password-456")

    tf.run("destroy")
    assert not can_login(server, name, "second-password-456")


def test_user_import_and_refusals(tf, api, server):
    name = uniq("bob")
    api.call("POST", "users/create", {"username": name, "password": "created-by-hand-1"})
    tf.write(user_hcl(name, "managed-by-tf-2"))
    tf.run("import", "mlp_user.u", name)
    # The password cannot be read back: the first apply after an import sets it.
    code, out = tf.plan_exit()
    assert code == 2 and "password" in out, out
    tf.run("apply")
    assert can_login(server, name, "managed-by-tf-2")
    assert tf.plan_exit()[0] == 0

    tf.write(user_hcl(uniq("carol"), "short"))
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "at least 12 characters" in p.diag, p.diag
    tf.write(user_hcl("a:b", "long-enough-password"))
    p = tf.run("plan", check=False)
    assert p.returncode == 1 and "Invalid username" in p.diag, p.diag


def grants(api, user: str) -> dict:
    rows = api.call("GET", "/api/3.0/mlflow/users/permissions/list", username=user)["permissions"]
    return {(r["resource_type"], r["resource_pattern"]): r["permission"] for r in rows}


def perm_config(user: str, exp: str, model: str, exp_perm: str, model_perm: str = "READ") -> str:
    return (
        user_hcl(user, "team-member-password")
        + f'resource "mlp_experiment" "e" {{\n  name = "{exp}"\n}}\n'
        + f'resource "mlp_registered_model" "m" {{\n  name = "{model}"\n}}\n'
        + 'resource "mlp_permission" "exp" {\n  username = mlp_user.u.username\n'
        + f'  resource_type = "experiment"\n  resource_id = mlp_experiment.e.id\n  permission = "{exp_perm}"\n}}\n'
        + 'resource "mlp_permission" "model" {\n  username = mlp_user.u.username\n'
        + f'  resource_type = "registered_model"\n  resource_id = mlp_registered_model.m.name\n  permission = "{model_perm}"\n}}\n'
    )


def test_permission_lifecycle(tf, api, server):
    user, exp, model = uniq("dave"), uniq("team-exp"), uniq("team-model")
    tf.write(perm_config(user, exp, model, "EDIT"))
    tf.run("apply")
    eid = api.experiment(exp)["experiment_id"]
    assert grants(api, user) == {("experiment", eid): "EDIT", ("registered_model", model): "READ"}
    assert tf.resource("mlp_permission.exp")["id"] == f"{user}:experiment:{eid}"
    # The grant is real: the user can now write to the experiment, and only read the model.
    r = requests.post(server.base + "/api/2.0/mlflow/runs/create",
                      json={"experiment_id": eid}, auth=(user, "team-member-password"), timeout=10)
    assert r.status_code == 200, r.text
    r = requests.patch(server.base + "/api/2.0/mlflow/registered-models/update",
                       json={"name": model, "description": "x"}, auth=(user, "team-member-password"), timeout=10)
    assert r.status_code == 403, r.text
    assert tf.plan_exit()[0] == 0

    tf.write(perm_config(user, exp, model, "MANAGE", "EDIT"))
    code, out = tf.plan_exit()
    assert code == 2 and "update in-place" in out and "must be replaced" not in out, out
    tf.run("apply")
    assert grants(api, user) == {("experiment", eid): "MANAGE", ("registered_model", model): "EDIT"}

    # Drift: one grant revoked, the other changed.
    api.call("POST", "/api/3.0/mlflow/users/permissions/revoke",
             {"username": user, "resource_type": "experiment", "resource_id": eid})
    api.call("POST", "/api/3.0/mlflow/users/permissions/revoke",
             {"username": user, "resource_type": "registered_model", "resource_id": model})
    api.call("POST", "/api/3.0/mlflow/users/permissions/grant",
             {"username": user, "resource_type": "registered_model", "resource_id": model, "permission": "DENY"})
    code, out = tf.plan_exit()
    assert code == 2 and "mlp_permission.exp will be created" in out and '"DENY" -> "EDIT"' in out, out
    tf.run("apply")
    assert grants(api, user) == {("experiment", eid): "MANAGE", ("registered_model", model): "EDIT"}

    # Import of an existing grant into a second address.
    tf.write(perm_config(user, exp, model, "MANAGE", "EDIT")
             + f'resource "mlp_permission" "again" {{\n  username = "{user}"\n  resource_type = "experiment"\n'
               f'  resource_id = "{eid}"\n  permission = "MANAGE"\n}}\n')
    tf.run("import", "mlp_permission.again", f"{user}:experiment:{eid}")
    assert tf.resource("mlp_permission.again")["permission"] == "MANAGE"
    tf.run("state", "rm", "mlp_permission.again")

    tf.write(perm_config(user, exp, model, "MANAGE", "EDIT"))
    tf.run("destroy", "-target=mlp_permission.exp", "-target=mlp_permission.model")
    assert grants(api, user) == {}
    tf.run("destroy")


def test_permission_refusals(tf):
    tf.write('resource "mlp_permission" "p" {\n  username = "x"\n  resource_type = "run"\n'
             '  resource_id = "1"\n  permission = "OWNER"\n}\n')
    p = tf.run("plan", check=False)
    assert p.returncode == 1
    assert "Invalid resource_type" in p.diag and "experiment, registered_model" in p.diag, p.diag
    assert "Invalid permission" in p.diag and "READ, USE, EDIT, MANAGE, DENY" in p.diag, p.diag
