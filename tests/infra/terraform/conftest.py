import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tfeval import evaluate_env_config  # noqa: E402

import tfmodel as t  # noqa: E402


@pytest.fixture(scope="session")
def env_settings(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("env-config")
    return {env: evaluate_env_config(env, base / env) for env in t.ENV_NAMES}
