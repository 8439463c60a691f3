"""Helpers for the monitoring tests: the PrometheusRule and the dashboards of
infrastructure/kubernetes/base/monitoring, PromQL metric-name extraction and
promtool."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
MON_DIR = REPO / "infrastructure" / "kubernetes" / "base" / "monitoring"
RULES_FILE = MON_DIR / "prometheus-rules.yaml"
SERVICE_MONITORS_FILE = MON_DIR / "service-monitors.yaml"
DASHBOARD_DIR = MON_DIR / "dashboards"
RUNBOOKS = REPO / "docs" / "runbooks.md"
RULES_TEST = HERE / "rules_test.yaml"
REQUIRED_DASHBOARDS = {"ml-platform-overview", "ml-training-metrics", "data-processing"}
DATASOURCE_UIDS = {"${datasource}", "$datasource", "prometheus"}

# Metric names used by rules/dashboards that only exist in a Kubernetes
# cluster, scraped by the cluster stack (kube-prometheus-stack): kubelet
# volume stats, cAdvisor (via the kubelet) and kube-state-metrics. The live
# test cannot produce them on loopback; every other name must have series.
CLUSTER_ONLY_METRICS = {
    "kubelet_volume_stats_available_bytes": "kubelet (volume stats), scraped by kube-prometheus-stack",
    "kubelet_volume_stats_capacity_bytes": "kubelet (volume stats), scraped by kube-prometheus-stack",
    "container_memory_working_set_bytes": "cAdvisor via the kubelet /metrics/cadvisor, kube-prometheus-stack",
    "kube_pod_container_resource_limits": "kube-state-metrics (part of kube-prometheus-stack)",
}

# Grafana's built-in variables, replaced by concrete durations before parsing.
GRAFANA_VARS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def prometheus_rule() -> dict:
    return yaml.safe_load(RULES_FILE.read_text())


def rule_groups() -> list[dict]:
    return prometheus_rule()["spec"]["groups"]


def alerts() -> list[dict]:
    return [r for g in rule_groups() for r in g["rules"] if "alert" in r]


def recording_rules() -> list[dict]:
    return [r for g in rule_groups() for r in g["rules"] if "record" in r]


def write_rules_file(dest: Path, interval: str | None = None) -> Path:
    """The PrometheusRule's spec as a plain Prometheus rules file (what the
    operator generates); INTERVAL overrides every group's interval."""
    spec = prometheus_rule()["spec"]
    if interval:
        for g in spec["groups"]:
            g["interval"] = interval
    dest.write_text(yaml.safe_dump(spec, sort_keys=False))
    return dest


def dashboards() -> dict[str, dict]:
    """file stem -> parsed dashboard JSON (raises on invalid JSON)."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def panels(dash: dict) -> list[dict]:
    """All panels, rows' nested panels included (rows themselves excluded)."""
    out = []
    for p in dash.get("panels") or []:
        if p.get("type") == "row":
            out += [q for q in p.get("panels") or []]
        else:
            out.append(p)
    return out


def rows(dash: dict) -> list[dict]:
    return [p for p in dash.get("panels") or [] if p.get("type") == "row"]


def grafana_to_promql(expr: str, values: dict[str, str] | None = None) -> str:
    values = values or GRAFANA_VARS
    for var in sorted(values, key=len, reverse=True):
        expr = expr.replace(var, values[var]).replace("${" + var[1:] + "}", values[var])
    return expr


def dashboard_queries(values: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, PromQL with Grafana variables replaced)."""
    out = []
    for dash in dashboards().values():
        for p in panels(dash):
            for t in p.get("targets") or []:
                if t.get("expr"):
                    out.append((dash.get("uid"), p.get("title"), grafana_to_promql(t["expr"], values)))
    return out


_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "inf", "nan", "atan2"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (vector selectors, plain or
    with label matchers); function names, aggregation modifiers, label names
    and keywords are not metric names."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)", e):
        name = m.group(1)
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        raise RuntimeError("promtool not found (Debian package prometheus)")
    return path


def run_promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def runbook_anchors() -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", RUNBOOKS.read_text(), re.M)}


def check_dashboard(d: dict) -> list[str]:
    """Structure of one dashboard: title, schemaVersion, unique panel ids,
    every panel with a title, gridPos and at least one query, and only the
    provisioned Prometheus as datasource."""
    uid = d.get("uid")
    errors = []
    for key in ("uid", "title", "schemaVersion", "panels"):
        if not d.get(key):
            errors.append(f"{uid}: {key} missing")
    ids = [p.get("id") for p in d.get("panels") or []] + [q.get("id") for r in rows(d) for q in r.get("panels") or []]
    if len(ids) != len(set(ids)) or None in ids:
        errors.append(f"{uid}: panel ids missing or not unique: {ids}")
    for p in panels(d):
        pid = f"{uid} panel {p.get('id')} {p.get('title')!r}"
        if not str(p.get("title", "")).strip():
            errors.append(f"{pid}: no title")
        if not p.get("gridPos"):
            errors.append(f"{pid}: no gridPos")
        if not [t for t in p.get("targets") or [] if str(t.get("expr", "")).strip()]:
            errors.append(f"{pid}: no query")
        for t in [p] + list(p.get("targets") or []):
            ds = t.get("datasource")
            if ds is not None and (ds.get("type") != "prometheus" or ds.get("uid") not in DATASOURCE_UIDS):
                errors.append(f"{pid}: datasource {ds} is not the provisioned Prometheus")
    return errors


def check_query_metrics(queries: list[tuple[str, str, str]], recorded: set[str]) -> list[str]:
    """Queries name only mlp_* metrics, recording rules that exist, `up`, or
    the documented cluster-only allowlist."""
    errors = []
    for uid, title, q in queries:
        for name in metric_names(q):
            if name.startswith("mlp:") and name not in recorded:
                errors.append(f"{uid} {title!r}: {name} is not a recording rule")
            elif not (name.startswith(("mlp_", "mlp:")) or name == "up" or name in CLUSTER_ONLY_METRICS):
                errors.append(f"{uid} {title!r}: unknown metric {name}")
    return errors


def check_alerts(alert_rules: list[dict], anchors: set[str]) -> list[str]:
    """Every alert: unique name, severity, summary, description, a
    runbook_url into a section of docs/runbooks.md, and a `for`."""
    errors = []
    seen = set()
    for a in alert_rules:
        name = a.get("alert")
        if name in seen:
            errors.append(f"{name}: defined twice")
        seen.add(name)
        if (a.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
            errors.append(f"{name}: severity label must be critical, warning or info")
        ann = a.get("annotations") or {}
        for key in ("summary", "description", "runbook_url"):
            if not str(ann.get(key, "")).strip():
                errors.append(f"{name}: annotation {key} missing")
        url = ann.get("runbook_url", "")
        if "/docs/runbooks.md#" not in url:
            errors.append(f"{name}: runbook_url must point to a section of docs/runbooks.md")
        elif url.split("#", 1)[1] not in anchors:
            errors.append(f"{name}: docs/runbooks.md has no section #{url.split('#', 1)[1]}")
        if not a.get("for"):
            errors.append(f"{name}: no 'for' (a single bad scrape would page)")
    return errors


def promql_parse_errors(queries: list[str], workdir: Path) -> str:
    """promtool's output if any query does not parse (as recording rules), else ''."""
    rules = [{"record": f"dashboard:query_{i}:check", "expr": q} for i, q in enumerate(queries)]
    (workdir / "queries.yaml").write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
    proc = run_promtool("check", "rules", "queries.yaml", cwd=workdir)
    if proc.returncode != 0 or f"{len(rules)} rules found" not in proc.stdout:
        return proc.stdout + proc.stderr
    return ""
