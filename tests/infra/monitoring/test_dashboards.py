"""The three Grafana dashboards: valid JSON, required uids, every panel has a
title and at least one query, every query parses (promtool, as recording
rules) and names only metrics the rules or mlp export."""
import pytest
import yaml

import monlib


@pytest.fixture(scope="module")
def dashes():
    return monlib.dashboards()


def test_required_dashboards_exist(dashes):
    assert set(dashes) == monlib.REQUIRED_DASHBOARDS, "file names must be the seed's"
    assert {d["uid"] for d in dashes.values()} == monlib.REQUIRED_DASHBOARDS
    for stem, d in dashes.items():
        assert d["uid"] == stem, f"{stem}.json has uid {d['uid']}"


def test_kustomization_generates_every_dashboard():
    k = yaml.safe_load((monlib.MON_DIR / "kustomization.yaml").read_text())
    files = {f for g in k["configMapGenerator"] if g["name"] == "grafana-dashboards" for f in g["files"]}
    assert files == {f"dashboards/{u}.json" for u in monlib.REQUIRED_DASHBOARDS}


@pytest.mark.parametrize("uid", sorted(monlib.REQUIRED_DASHBOARDS))
def test_dashboard_structure(dashes, uid):
    errors = monlib.check_dashboard(dashes[uid])
    assert len(monlib.panels(dashes[uid])) >= 6, f"{uid}: too few panels"
    assert not errors, "\n".join(errors)


def test_every_query_parses(tmp_path):
    """Each panel query, with Grafana's variables replaced, loaded as a
    recording rule: promtool check rules parses every expression."""
    queries = [q for _, _, q in monlib.dashboard_queries()]
    assert queries
    out = monlib.promql_parse_errors(queries, tmp_path)
    assert not out, out


def test_queries_use_known_metrics():
    """Dashboards name only metrics mlp exports (prefix mlp_), recording rules
    of prometheus-rules.yaml, `up`, or the documented cluster allowlist;
    a typo in a recorded name is caught here before the live test."""
    recorded = {r["record"] for r in monlib.recording_rules()}
    errors = monlib.check_query_metrics(monlib.dashboard_queries(), recorded)
    assert not errors, "\n".join(errors)


def test_metric_name_parser():
    q = ('sum by (route) (rate(mlp_http_requests_total{status=~"5..", route!="x(y)"}[5m])) or vector(0) '
         '/ on (kind) group_left (state) absent(up{job="a"} == 1) > (14.4 * 0.005) '
         'and deriv(max(mlp_job_queue_depth)[30m:1m]) > 1e3')
    assert monlib.metric_names(q) == {"mlp_http_requests_total", "up", "mlp_job_queue_depth"}
    assert monlib.metric_names("mlp:http_errors:ratio_rate1h > bool 0") == {"mlp:http_errors:ratio_rate1h"}
