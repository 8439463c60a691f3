"""NetworkPolicies: default deny, DNS, coverage, and exactly the paths of
infrastructure/policy/connectivity.yaml."""
import pytest

import k8slib
from conftest import docs_for


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_default_deny_dns_and_coverage(rendered, env):
    v = k8slib.check_netpol_coverage(docs_for(rendered, env))
    assert not v, "\n".join(v)


@pytest.mark.parametrize("env", k8slib.ENVS)
def test_policies_match_connectivity(rendered, env):
    v = k8slib.check_connectivity(docs_for(rendered, env), env)
    assert not v, "\n".join(v)


def test_connectivity_file_is_consistent():
    conn = k8slib.load_connectivity()
    names = set(conn["workloads"]) | set(conn["peers"])
    for f in conn["flows"]:
        for end in ("from", "to"):
            ends = f[end] if isinstance(f[end], list) else [f[end]]
            for e in ends:
                assert e == "*" or e in names, f"unknown endpoint {e} in {f}"
        for p in f["ports"]:
            num, proto = str(p).split("/")
            assert proto in ("TCP", "UDP", "SCTP") and 0 < int(num) < 65536
        for env in f.get("envs", []):
            assert env in k8slib.ENVS
