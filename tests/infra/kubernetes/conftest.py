"""Shared fixtures: one rendering of every overlay per test session."""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import k8slib  # noqa: E402


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    """Copy of infrastructure/kubernetes with generated local secrets."""
    return k8slib.prepare_workspace(tmp_path_factory.mktemp("ws"))


@pytest.fixture(scope="session")
def rendered_text(workspace) -> dict[str, str]:
    """env -> `kubectl kustomize overlays/<env>` output. A build failure is
    recorded as an exception and re-raised by the test that needs it."""
    def build(env):
        try:
            return env, k8slib.kustomize(workspace / "overlays" / env)
        except Exception as e:  # noqa: BLE001
            return env, e
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(build, k8slib.ENVS))


@pytest.fixture(scope="session")
def rendered(rendered_text) -> dict[str, list[dict]]:
    out = {}
    for env, text in rendered_text.items():
        if isinstance(text, Exception):
            continue
        out[env] = k8slib.load_docs(text)
    return out


@pytest.fixture(scope="session")
def rendered_dir(tmp_path_factory, rendered_text) -> Path:
    d = tmp_path_factory.mktemp("rendered")
    for env, text in rendered_text.items():
        if not isinstance(text, Exception):
            (d / f"{env}.yaml").write_text(text)
    return d


def docs_for(rendered, env):
    if env not in rendered:
        pytest.fail(f"overlay {env} did not build (see test_overlay_builds[{env}])")
    return rendered[env]
