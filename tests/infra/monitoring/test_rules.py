"""PrometheusRule: promtool check + unit tests, and the conventions every
alert follows (severity, summary, description, runbook section)."""
import re
import shutil

import pytest
import yaml

import monlib


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("rules")
    monlib.write_rules_file(d / "rules.yaml")
    shutil.copy(monlib.RULES_TEST, d / "rules_test.yaml")
    return d


def test_promtool_check_rules(rules_dir):
    proc = monlib.run_promtool("check", "rules", "--lint=all", "rules.yaml", cwd=rules_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_promtool_unit_tests(rules_dir):
    proc = monlib.run_promtool("test", "rules", "rules_test.yaml", cwd=rules_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    tests = yaml.safe_load(monlib.RULES_TEST.read_text())["tests"]
    firing, quiet = set(), set()
    for t in tests:
        for a in t.get("alert_rule_test") or []:
            (firing if a.get("exp_alerts") else quiet).add(a["alertname"])
    names = {a["alert"] for a in monlib.alerts()}
    assert names, "no alerts"
    assert not names - firing, f"alerts without a firing unit test: {sorted(names - firing)}"
    assert not names - quiet, f"alerts without a quiet (no alert) unit test: {sorted(names - quiet)}"
    assert not (firing | quiet) - names, f"tests of unknown alerts: {sorted((firing | quiet) - names)}"


def test_alert_conventions():
    errors = monlib.check_alerts(monlib.alerts(), monlib.runbook_anchors())
    assert not errors, "\n".join(errors)


def test_recording_rules_follow_naming_convention():
    for r in monlib.recording_rules():
        assert r["record"].count(":") == 2 and r["record"].startswith("mlp:"), r["record"]


def test_service_monitors_match_services():
    """ServiceMonitors select the Services of base/ by label and scrape their
    port by name; the job label (Service name) is what the alerts select."""
    base = monlib.REPO / "infrastructure" / "kubernetes" / "base"
    services = {}
    for f in ("backend/service.yaml", "worker/service.yaml"):
        svc = yaml.safe_load((base / f).read_text())
        services[svc["metadata"]["name"]] = svc
    sms = list(yaml.safe_load_all(monlib.SERVICE_MONITORS_FILE.read_text()))
    assert {sm["metadata"]["name"] for sm in sms} == {"mlp-backend", "mlp-worker"}
    for sm in sms:
        sel = sm["spec"]["selector"]["matchLabels"]
        matching = [s for s in services.values()
                    if all(s["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
        assert len(matching) == 1, f"ServiceMonitor {sm['metadata']['name']} selects {len(matching)} Services"
        svc = matching[0]
        assert sm["spec"]["namespaceSelector"]["matchNames"] == [svc["metadata"]["namespace"]]
        port_names = {p["name"] for p in svc["spec"]["ports"]}
        for ep in sm["spec"]["endpoints"]:
            assert ep["port"] in port_names, f"{sm['metadata']['name']}: port {ep['port']} not in {port_names}"
            assert ep.get("path", "/metrics") == "/metrics"
        metrics_port = next(p for p in svc["spec"]["ports"] if p["name"] == "metrics")
        assert metrics_port["port"] == 9090
    jobs = set()
    for a in monlib.alerts():
        jobs |= set(re.findall(r'job=~?"([^"]+)"', a["expr"]))
    for j in jobs:
        for alt in j.split("|"):
            assert alt in services, f"alerts select job {alt!r}, which no ServiceMonitor produces"
