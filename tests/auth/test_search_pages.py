"""Filtered search pages stay full: a user with DENY on most of what a search matches gets pages
of max_results readable items (the last may be shorter), and sees every readable item exactly
once across the pages, through the mlflow client's own paging. Experiments, runs and registered
models pass against MLflow's basic-auth app too (`AUTH_SERVER=mlflow`), which fills its pages."""

from __future__ import annotations

import uuid

from mlflow import MlflowClient
from mlflow.server import get_app_client

from conftest import ADMIN, ADMIN_PW, as_user

PW = "user-password-for-tests"


def pages(fetch, max_results: int) -> list[list]:
    out, token = [], None
    for _ in range(50):
        page = fetch(max_results=max_results, page_token=token)
        out.append(list(page))
        token = page.token
        if not token:
            return out
    raise AssertionError("paging did not end")


def assert_full_pages(got: list[list], max_results: int, expected: set, key) -> None:
    sizes = [len(p) for p in got]
    assert all(s == max_results for s in sizes[:-1]), sizes
    assert 0 < len(got[-1]) <= max_results or len(got) == 1, sizes
    seen = [key(x) for p in got for x in p]
    assert len(seen) == len(set(seen)), f"an item was shown twice: {seen}"
    assert set(seen) == expected


def test_pages_are_filled_despite_deny(server):
    tag = uuid.uuid4().hex[:8]
    user = f"pager-{tag}"
    with as_user(ADMIN, ADMIN_PW):
        ac = get_app_client("basic-auth", tracking_uri=server.base)
        ac.create_user(user, PW)
        c = MlflowClient(server.base)
        readable_exps, readable_runs = set(), set()
        for i in range(24):
            exp_id = c.create_experiment(f"pages-{tag}-{i:02d}")
            # Two of three denied, interleaved, so every store page mixes both.
            deny = i % 3 != 0
            if deny:
                ac.grant_user_permission(user, "experiment", exp_id, "DENY")
            else:
                readable_exps.add(exp_id)
            if i < 9:
                for _ in range(2):
                    run_id = c.create_run(exp_id).info.run_id
                    if not deny:
                        readable_runs.add(run_id)
        exp_ids = [e.experiment_id for e in c.search_experiments(filter_string=f"name LIKE 'pages-{tag}-%'")]
        source_run = c.create_run(c.create_experiment(f"source-{tag}")).info.run_id
        readable_models = set()
        for i in range(10):
            name = f"pages-{tag}-model-{i:02d}"
            c.create_registered_model(name)
            c.create_model_version(name, f"runs:/{source_run}/model", run_id=source_run)
            if i % 3 != 0:
                ac.grant_user_permission(user, "registered_model", name, "DENY")
            else:
                readable_models.add(name)
    assert len(readable_exps) == 8 and len(readable_runs) == 6 and len(readable_models) == 4

    with as_user(user, PW):
        c = MlflowClient(server.base)
        got = pages(lambda **kw: c.search_experiments(filter_string=f"name LIKE 'pages-{tag}-%'", **kw), 3)
        assert_full_pages(got, 3, readable_exps, lambda e: e.experiment_id)
        got = pages(lambda **kw: c.search_runs(exp_ids, **kw), 4)
        assert_full_pages(got, 4, readable_runs, lambda r: r.info.run_id)
        got = pages(lambda **kw: c.search_registered_models(filter_string=f"name LIKE 'pages-{tag}-%'", **kw), 3)
        assert_full_pages(got, 3, readable_models, lambda m: m.name)
        if server.kind == "mlp":
            # MLflow 3.17.2 fills the three above but leaves model-version pages short.
            got = pages(lambda **kw: c.search_model_versions(filter_string=f"name LIKE 'pages-{tag}-%'", **kw), 3)
            assert_full_pages(got, 3, readable_models, lambda v: v.name)
