"""Each check of this suite fails on deliberately broken input."""
import copy

import monlib


def _dash():
    return copy.deepcopy(monlib.dashboards()["ml-platform-overview"])


def test_dashboard_check_catches_broken_panels():
    d = _dash()
    ps = monlib.panels(d)
    ps[0]["title"] = ""
    ps[1]["targets"] = []
    ps[2]["datasource"] = {"type": "prometheus", "uid": "some-other-prometheus"}
    ps[3]["id"] = ps[4]["id"]
    del ps[5]["gridPos"]
    errors = "\n".join(monlib.check_dashboard(d))
    for needle in ("no title", "no query", "not the provisioned Prometheus", "not unique", "no gridPos"):
        assert needle in errors, needle


def test_promql_parse_errors_are_reported(tmp_path):
    assert monlib.promql_parse_errors(["sum(rate(mlp_http_requests_total[5m]))"], tmp_path) == ""
    out = monlib.promql_parse_errors(["sum by (route (rate(mlp_http_requests_total[5m]))"], tmp_path)
    assert out and "parse error" in out


def test_unknown_metrics_and_recordings_are_reported():
    queries = [("x", "typo", "sum(rate(mlp_http_request_total[5m]))"),
               ("x", "foreign", "node_cpu_seconds_total"),
               ("x", "recording", "mlp:http_errors:ratio_rate7m")]
    errors = "\n".join(monlib.check_query_metrics(queries, {"mlp:http_errors:ratio_rate5m"}))
    assert "unknown metric node_cpu_seconds_total" in errors
    assert "mlp:http_errors:ratio_rate7m is not a recording rule" in errors
    # An mlp_ typo passes this static check; the live test catches it (no series).
    assert "mlp_http_request_total" not in errors


def test_alert_check_catches_missing_annotations_and_runbooks():
    a = copy.deepcopy(monlib.alerts()[:3])
    del a[0]["annotations"]["runbook_url"]
    a[1]["annotations"]["runbook_url"] = a[1]["annotations"]["runbook_url"].split("#")[0] + "#no-such-section"
    a[2]["labels"] = {}
    del a[2]["for"]
    a.append(copy.deepcopy(a[1]))
    errors = "\n".join(monlib.check_alerts(a, monlib.runbook_anchors()))
    for needle in ("annotation runbook_url missing", "no section #no-such-section", "severity", "no 'for'",
                   "defined twice"):
        assert needle in errors, needle


def test_broken_rule_unit_test_fails(tmp_path):
    monlib.write_rules_file(tmp_path / "rules.yaml")
    (tmp_path / "t.yaml").write_text("""
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - {series: 'mlp_store_up{job="mlp-backend",instance="a"}', values: '1x10'}
    alert_rule_test:
      - eval_time: 5m
        alertname: MlpDatabaseUnreachable
        exp_alerts: [{exp_labels: {severity: critical, job: mlp-backend, instance: a}}]
""")
    proc = monlib.run_promtool("test", "rules", "t.yaml", cwd=tmp_path)
    assert proc.returncode != 0
