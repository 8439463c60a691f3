"""Wire rules checked with raw HTTP (things the mlflow client cannot express or hides).

Error bodies must be JSON {"error_code", "message"} with MLflow's codes, and a user's
mistake must never be answered with a 5xx (the real client retries 5xx seven times).
"""

from __future__ import annotations

import uuid

import pytest

API = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"


def _err(r, status, code):
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert body["error_code"] == code, body
    assert isinstance(body.get("message"), str)


@pytest.fixture
def exp(api):
    r = api.post(f"{API}/experiments/create", json={"name": f"compat-wire-{uuid.uuid4().hex}"})
    assert r.status_code == 200, r.text
    eid = r.json()["experiment_id"]
    assert isinstance(eid, str)
    return eid


@pytest.fixture
def run_id(api, exp):
    r = api.post(f"{API}/runs/create", json={"experiment_id": exp, "start_time": 1_700_000_000_000})
    assert r.status_code == 200, r.text
    return r.json()["run"]["info"]["run_id"]


def test_health(api):
    r = api.get("/health")
    assert r.status_code == 200


def test_get_by_name_missing_is_404_resource_does_not_exist(api):
    r = api.get(f"{API}/experiments/get-by-name", params={"experiment_name": f"nope-{uuid.uuid4().hex}"})
    _err(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_get_with_query_params_and_ajax_prefix(api, exp):
    r = api.get(f"{API}/experiments/get", params={"experiment_id": exp})
    assert r.status_code == 200
    e = r.json()["experiment"]
    assert e["experiment_id"] == exp and e["lifecycle_stage"] == "active"
    assert isinstance(e["creation_time"], int) and isinstance(e["last_update_time"], int)
    r = api.get(f"/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": exp})
    assert r.status_code == 200 and r.json()["experiment"]["experiment_id"] == exp
    r = api.get(f"{API}/experiments/get", params={"experiment_id": "0"})
    assert r.json()["experiment"]["name"] == "Default"


def test_run_create_shape_int64_as_string(api, exp):
    r = api.post(f"{API}/runs/create", json={"experiment_id": exp, "start_time": "1700000000123",
                                                "run_name": "wire", "tags": [{"key": "k", "value": "v"}]})
    assert r.status_code == 200, r.text
    run = r.json()["run"]
    info = run["info"]
    assert info["run_id"] == info["run_uuid"] and len(info["run_id"]) == 32
    assert info["start_time"] == 1700000000123  # int64 emitted as a JSON number
    assert info["status"] == "RUNNING"
    assert info["lifecycle_stage"] == "active"
    assert info["experiment_id"] == exp
    assert info["run_name"] == "wire"
    assert info["artifact_uri"].startswith("mlflow-artifacts:/")
    assert "end_time" not in info  # absent optional fields are left out
    assert {"key": "k", "value": "v"} in run["data"]["tags"]


def test_get_run_query_params_run_uuid_and_run_id(api, run_id):
    r = api.get(f"{API}/runs/get", params={"run_uuid": run_id, "run_id": run_id})
    assert r.status_code == 200 and r.json()["run"]["info"]["run_id"] == run_id
    r = api.get(f"{API}/runs/get", params={"run_id": run_id})
    assert r.status_code == 200 and r.json()["run"]["info"]["run_id"] == run_id
    _err(api.get(f"{API}/runs/get", params={"run_id": "f" * 32}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_log_metric_strings_nan_inf(api, run_id):
    def log(value, step, ts=1_700_000_000_000):
        r = api.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "m", "value": value,
                                                      "timestamp": str(ts + step), "step": str(step)})
        assert r.status_code == 200, r.text
        assert r.json() == {}

    log(0.25, 0)
    log("NaN", 1)
    log("Infinity", 2)
    log("-Infinity", 3)
    log(1e-300, 4)
    r = api.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    assert r.status_code == 200
    pts = sorted(r.json()["metrics"], key=lambda m: m["step"])
    assert [p["step"] for p in pts] == [0, 1, 2, 3, 4]
    assert all(isinstance(p["step"], int) and isinstance(p["timestamp"], int) for p in pts)
    assert pts[0]["value"] == 0.25 and pts[0]["timestamp"] == 1_700_000_000_000
    assert pts[1]["value"] == "NaN"
    # MLflow's SQL store clamps +-Inf to +-DBL_MAX; echoing "Infinity" is accepted too
    assert pts[2]["value"] in ("Infinity", 1.7976931348623157e308)
    assert pts[3]["value"] in ("-Infinity", -1.7976931348623157e308)
    assert pts[4]["value"] == 1e-300
    # latest value is the highest step
    r = api.get(f"{API}/runs/get", params={"run_id": run_id})
    latest = {m["key"]: m for m in r.json()["run"]["data"]["metrics"]}
    assert latest["m"]["value"] == 1e-300 and latest["m"]["step"] == 4


def test_metric_history_paging(api, run_id):
    metrics = [{"key": "h", "value": float(i), "timestamp": 1_700_000_000_000 + i, "step": i} for i in range(7)]
    r = api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    assert r.status_code == 200, r.text
    seen, token, pages = [], None, 0
    while True:
        params = {"run_id": run_id, "metric_key": "h", "max_results": 3}
        if token:
            params["page_token"] = token
        r = api.get(f"{API}/metrics/get-history", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        page = body.get("metrics", [])
        assert len(page) <= 3
        seen += [m["step"] for m in page]
        pages += 1
        token = body.get("next_page_token")
        if not token:
            break
        assert pages < 10
    assert sorted(seen) == list(range(7))
    assert len(seen) == 7


def test_unknown_fields_ignored_and_run_uuid_only(api, run_id, exp):
    r = api.post(f"{API}/runs/log-parameter", json={"run_uuid": run_id, "key": "p", "value": "1", "zzz": [1, 2]})
    assert r.status_code == 200, r.text
    r = api.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "t", "value": "x", "unknown": {"a": 1}})
    assert r.status_code == 200, r.text
    data = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    assert {"key": "p", "value": "1"} in data["params"]
    assert {"key": "t", "value": "x"} in data["tags"]


def test_search_experiments_get_and_post(api, exp):
    name = api.get(f"{API}/experiments/get", params={"experiment_id": exp}).json()["experiment"]["name"]
    flt = f"name = '{name}'"
    r = api.post(f"{API}/experiments/search", json={"max_results": 10, "filter": flt, "view_type": "ACTIVE_ONLY"})
    assert r.status_code == 200, r.text
    assert [e["experiment_id"] for e in r.json()["experiments"]] == [exp]
    assert "next_page_token" not in r.json() or not r.json()["next_page_token"]
    r = api.get(f"{API}/experiments/search", params={"max_results": 10, "filter": flt})
    assert r.status_code == 200, r.text
    assert [e["experiment_id"] for e in r.json()["experiments"]] == [exp]


def test_search_runs_raw_empty_and_paged(api, exp):
    r = api.post(f"{API}/runs/search", json={"experiment_ids": [exp]})
    assert r.status_code == 200
    assert r.json().get("runs", []) == []
    for i in range(3):
        api.post(f"{API}/runs/create", json={"experiment_id": exp, "start_time": 1_700_000_000_000 + i})
    r = api.post(f"{API}/runs/search", json={"experiment_ids": [exp], "max_results": 2})
    body = r.json()
    assert len(body["runs"]) == 2 and isinstance(body["next_page_token"], str)
    r = api.post(f"{API}/runs/search", json={"experiment_ids": [exp], "max_results": 2,
                                              "page_token": body["next_page_token"]})
    body2 = r.json()
    assert len(body2["runs"]) == 1
    assert not body2.get("next_page_token")


# ------------------------------------------------------------------ user errors: 4xx, never 5xx


def test_missing_required_field(api, run_id):
    _err(api.post(f"{API}/runs/log-metric", json={"run_id": run_id, "value": 1.0, "timestamp": 1}),
         400, "INVALID_PARAMETER_VALUE")
    _err(api.post(f"{API}/experiments/create", json={}), 400, "INVALID_PARAMETER_VALUE")
    _err(api.get(f"{API}/experiments/get"), 400, "INVALID_PARAMETER_VALUE")
    _err(api.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "value": "x"}), 400, "INVALID_PARAMETER_VALUE")
    # NB: MLflow 3.17.2 accepts log-parameter WITHOUT "value" (200); not asserted either way.


def test_wrong_type(api, run_id):
    _err(api.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "a", "value": "abc", "timestamp": 1}),
         400, "INVALID_PARAMETER_VALUE")
    _err(api.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "a", "value": 1.0, "timestamp": "soon"}),
         400, "INVALID_PARAMETER_VALUE")


def test_malformed_json_body(api, run_id):
    r = api.post(f"{API}/runs/log-metric", data="{not json", headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST")


def test_duplicate_experiment_raw(api, exp):
    name = api.get(f"{API}/experiments/get", params={"experiment_id": exp}).json()["experiment"]["name"]
    _err(api.post(f"{API}/experiments/create", json={"name": name}), 400, "RESOURCE_ALREADY_EXISTS")


def test_changed_param_raw(api, run_id):
    assert api.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "1"}).status_code == 200
    _err(api.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "2"}),
         400, "INVALID_PARAMETER_VALUE")


def test_batch_limits(api, run_id):
    too_many_metrics = [{"key": f"m{i}", "value": 1.0, "timestamp": 1, "step": 0} for i in range(1001)]
    _err(api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": too_many_metrics}),
         400, "INVALID_PARAMETER_VALUE")
    too_many_params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    _err(api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": too_many_params}),
         400, "INVALID_PARAMETER_VALUE")
    too_many_tags = [{"key": f"t{i}", "value": "v"} for i in range(101)]
    _err(api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "tags": too_many_tags}),
         400, "INVALID_PARAMETER_VALUE")
    # exactly at the limits is fine
    ok = [{"key": f"m{i}", "value": 1.0, "timestamp": 1, "step": 0} for i in range(1000)]
    assert api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": ok}).status_code == 200


def test_long_key_rejected_long_values_truncated(api, run_id):
    _err(api.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "k" * 251, "value": "v"}),
         400, "INVALID_PARAMETER_VALUE")
    assert api.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "k" * 250, "value": "v"}).status_code == 200
    r = api.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "long", "value": "p" * 6001})
    assert r.status_code == 200, r.text
    r = api.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "longtag", "value": "t" * 8001})
    assert r.status_code == 200, r.text
    data = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    params = {p["key"]: p["value"] for p in data["params"]}
    tags = {t["key"]: t["value"] for t in data["tags"]}
    assert params["long"] == "p" * 6000
    assert tags["longtag"] == "t" * 8000


def test_search_max_results_bounds(api, exp):
    _err(api.post(f"{API}/runs/search", json={"experiment_ids": [exp], "max_results": 50001}),
         400, "INVALID_PARAMETER_VALUE")
    _err(api.post(f"{API}/experiments/search", json={"max_results": 50001}), 400, "INVALID_PARAMETER_VALUE")


def test_bad_filter_raw(api, exp):
    _err(api.post(f"{API}/runs/search", json={"experiment_ids": [exp], "filter": "metrics.a > 1 OR metrics.b < 2"}),
         400, "INVALID_PARAMETER_VALUE")
    _err(api.post(f"{API}/runs/search", json={"experiment_ids": [exp], "filter": "params.x = 'unterminated"}),
         400, "INVALID_PARAMETER_VALUE")
    _err(api.post(f"{API}/runs/search", json={"experiment_ids": [exp], "order_by": ["metrics.a UP"]}),
         400, "INVALID_PARAMETER_VALUE")


GARBAGE = [
    ("POST", "/runs/create", "[]"),
    ("POST", "/runs/create", "null"),
    ("POST", "/runs/log-batch", '{"run_id": 5}'),
    ("POST", "/runs/log-batch", '{"run_id": "nope", "metrics": "x"}'),
    ("POST", "/runs/log-metric", '{"run_id": "nope", "key": "a", "value": 1, "timestamp": 1}'),
    ("POST", "/runs/update", '{"run_id": "nope", "status": "FINISHED"}'),
    ("POST", "/runs/search", '{"experiment_ids": "not-a-list"}'),
    ("POST", "/runs/search", '{"experiment_ids": ["1"], "max_results": -1}'),
    ("POST", "/experiments/create", '{"name": ""}'),
    ("POST", "/experiments/create", '{"name": 123}'),
    ("POST", "/experiments/delete", '{"experiment_id": "not-a-number"}'),
    ("POST", "/experiments/search", '{"max_results": "many"}'),
    ("POST", "/experiments/search", '{"page_token": "!!!garbage!!!"}'),
    ("POST", "/runs/search", '{"experiment_ids": ["0"], "page_token": "!!!garbage!!!"}'),
    ("GET", "/metrics/get-history?run_id=nope", None),
    ("GET", "/runs/get?run_id=", None),
]


@pytest.mark.parametrize("method,path,body", GARBAGE, ids=[f"{m} {p} {b}" for m, p, b in GARBAGE])
def test_garbage_is_4xx_with_error_code(api, method, path, body):
    r = api.request(method, API + path, data=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    payload = r.json()
    assert isinstance(payload.get("error_code"), str) and payload["error_code"]


def test_unknown_route_is_404(api):
    r = api.get(f"{API}/no-such-endpoint")
    assert r.status_code == 404


# ------------------------------------------------------------------ artifact proxy


def test_artifact_proxy_raw(api, exp, run_id):
    info = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["info"]
    uri = info["artifact_uri"]
    assert uri == f"mlflow-artifacts:/{exp}/{run_id}/artifacts"
    base = f"{exp}/{run_id}/artifacts"
    blob = bytes(range(256)) * 10
    r = api.request("PUT", f"{ART}/{base}/dir/x.bin", data=blob)
    assert r.status_code == 200, r.text
    r = api.request("PUT", f"{ART}/{base}/top.txt", data=b"hi")
    assert r.status_code == 200

    r = api.get(ART, params={"path": base})
    assert r.status_code == 200
    files = sorted(r.json()["files"], key=lambda f: f["path"])
    assert files == [{"path": "dir", "is_dir": True}, {"path": "top.txt", "is_dir": False, "file_size": 2}]
    r = api.get(ART, params={"path": f"{base}/dir"})
    assert r.json()["files"] == [{"path": "x.bin", "is_dir": False, "file_size": len(blob)}]
    # a file path or a missing path lists as empty
    assert api.get(ART, params={"path": f"{base}/top.txt"}).json().get("files", []) == []
    assert api.get(ART, params={"path": f"{base}/missing"}).json().get("files", []) == []

    r = api.get(f"{ART}/{base}/dir/x.bin")
    assert r.status_code == 200 and r.content == blob
    _err(api.get(f"{ART}/{base}/nope.txt"), 404, "RESOURCE_DOES_NOT_EXIST")

    r = api.request("DELETE", f"{ART}/{base}/top.txt")
    assert r.status_code == 200
    files = api.get(ART, params={"path": base}).json()["files"]
    assert [f["path"] for f in files] == ["dir"]


def test_server_info_probe(api):
    r = api.get("/api/3.0/mlflow/server-info")
    # a 404 is tolerated by the client (multipart disabled); otherwise it must say what it supports
    assert r.status_code in (200, 404)
    if r.status_code == 200:
        body = r.json()
        assert body.get("multipart_uploads_enabled") in (False, None)
        assert body.get("multipart_downloads_enabled") in (False, None)
