"""cloud-aws/ (the mocked plan/apply of the cloud root's AWS side, issue 17)
composes the modules by hand; these checks keep it equal to
environments/cloud so the offline test keeps testing what is deployed."""

from pathlib import Path

import tfmodel as t

TEST_ROOT = Path(__file__).parent / "cloud-aws"

# The only arguments allowed to differ, with what the test root passes instead
# (mock providers cannot mock ephemeral resources; modules/secrets needs kubernetes).
STAND_INS = {
    ("database", "app_password"): "${var.db_app_password}",
    ("database", "secret_store"): "${local.secret_store}",
    ("storage", "secret_store"): "${local.secret_store}",
    ("mlp_admin", "password"): "${var.mlp_admin_password}",
    ("secrets_iam", "operator"): "${local.secret_operator}",
    ("secrets_iam", "secret_access"): [
        "${module.database.secret_access}",
        "${module.storage.secret_access}",
        "${module.mlp_admin.secret_access}",
    ],
}

# Root modules needing a provider the offline mirror lacks (random, kubernetes, helm, kubectl).
LEFT_OUT = {"secrets", "cache", "karpenter", "ingress", "addons", "prometheus", "grafana"}


def _calls(path: Path) -> dict:
    return {
        name: {k: t.one(v) for k, v in body.items() if not k.startswith("__")}
        for name, body in t.load_module(path).module_calls.items()
    }


def test_test_root_calls_the_roots_aws_modules_with_the_same_arguments():
    root, test = _calls(t.CLOUD_ROOT), _calls(TEST_ROOT)
    assert set(test) == set(root) - LEFT_OUT, "cloud-aws must call every AWS-only module of the root"
    problems = []
    for name, args in test.items():
        want = dict(root[name])
        want["source"] = want["source"].replace("../../modules/", "../../../../infrastructure/terraform/modules/")
        for (mod, arg), value in STAND_INS.items():
            if mod == name:
                want[arg] = value
        if args != want:
            diff = sorted(k for k in set(args) | set(want) if args.get(k) != want.get(k))
            problems.append(f"module.{name}: {diff}")
    assert not problems, "cloud-aws/main.tf drifted from environments/cloud/main.tf: " + "; ".join(problems)


def test_test_root_shares_the_roots_locals_it_uses():
    root, test = t.load_module(t.CLOUD_ROOT).files, t.load_module(TEST_ROOT).files

    def local_values(files):
        out = {}
        for d in files.values():
            for block in d.get("locals", []):
                out.update({k: t.one(v) for k, v in block.items() if not k.startswith("__")})
        return out

    r, s = local_values(root), local_values(test)
    for name in ("clients", "database_network"):
        assert s[name] == r[name], f"local.{name} differs from the root's"


def test_variables_are_the_roots():
    link = TEST_ROOT / "variables.tf"
    assert link.is_symlink() and link.resolve() == (t.CLOUD_ROOT / "variables.tf").resolve()
