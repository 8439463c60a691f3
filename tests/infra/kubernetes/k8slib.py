"""Offline checks for the rendered Kubernetes manifests of the ML platform.

Every check is a pure function over a list of rendered documents and returns a
list of human-readable violations (empty = pass). The tests call them on each
rendered overlay, and test_negative.py calls each of them on deliberately
broken input to prove that it can fail.
"""
from __future__ import annotations

import copy
import fnmatch
import ipaddress
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
K8S_DIR = REPO / "infrastructure" / "kubernetes"
CONNECTIVITY_FILE = REPO / "infrastructure" / "policy" / "connectivity.yaml"
ENVS = ("local", "dev", "staging", "prod")
CLOUD_ENVS = ("dev", "staging", "prod")
NAMESPACE = "ml-platform"
K8S_VERSION = os.environ.get("K8S_VERSION", "1.32.0")
CRD_SCHEMA_DIR = Path(os.environ.get("CRD_SCHEMA_DIR", REPO.parent / "shared" / "schemas" / "crds"))
PLACEHOLDER = "REPLACED_BY_OVERLAY"

Doc = dict[str, Any]


# --------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------

def kubectl() -> str:
    path = shutil.which("kubectl")
    if not path:
        raise RuntimeError("kubectl not found on PATH (needed for `kubectl kustomize`)")
    return path


def kustomize(path: Path) -> str:
    """`kubectl kustomize PATH`; raises with kubectl's stderr on failure."""
    proc = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {path} failed:\n{proc.stderr}")
    return proc.stdout


def load_docs(text: str) -> list[Doc]:
    return [d for d in yaml.safe_load_all(text) if d]


def prepare_workspace(dest: Path) -> Path:
    """Copy infrastructure/kubernetes to DEST with freshly generated local
    secrets (so builds never depend on a developer's files) and return the
    copy's root."""
    root = dest / "infrastructure" / "kubernetes"
    shutil.copytree(K8S_DIR, root, ignore=shutil.ignore_patterns("*-password", "*-user", "aws-credentials"))
    subprocess.run(["bash", str(root / "kind" / "generate-local-secrets.sh"), str(root / "overlays" / "local")],
                   check=True, capture_output=True, text=True)
    return root


def ident(doc: Doc) -> str:
    md = doc.get("metadata") or {}
    ns = md.get("namespace")
    return f"{doc.get('kind')}/{(ns + '/') if ns else ''}{md.get('name')}"


def find(docs: Iterable[Doc], kind: str, name: str | None = None, prefix: bool = False) -> list[Doc]:
    out = []
    for d in docs:
        if d.get("kind") != kind:
            continue
        n = (d.get("metadata") or {}).get("name", "")
        if name is None or n == name or (prefix and n.startswith(name + "-")):
            out.append(d)
    return out


# --------------------------------------------------------------------------
# schema validation
# --------------------------------------------------------------------------

CRD_GROUPS = ("argoproj.io", "external-secrets.io", "velero.io", "monitoring.coreos.com", "karpenter.sh",
              "karpenter.k8s.aws", "keda.sh", "elbv2.k8s.aws", "gateway.networking.k8s.io", "postgresql.cnpg.io")
_crd_cache: dict[Path, Any] = {}
META_KEYS = {"name", "namespace", "labels", "annotations", "finalizers", "generateName"}


def crd_schema_path(doc: Doc) -> Path | None:
    api = doc.get("apiVersion", "")
    if "/" not in api:
        return None
    group, version = api.split("/", 1)
    if group not in CRD_GROUPS:
        return None
    return CRD_SCHEMA_DIR / group / f"{doc.get('kind', '').lower()}_{version}.json"


def validate_doc(doc: Doc) -> list[str]:
    """Strict schema validation. Core kinds: kubernetes-validate (strict; an
    unknown kind/apiVersion is an error). CRD kinds: the vendored JSON schema
    (a missing schema is an error)."""
    import jsonschema
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    name = ident(doc)
    path = crd_schema_path(doc)
    if path is not None:
        if not path.is_file():
            return [f"{name}: no CRD schema for {doc.get('apiVersion')} {doc.get('kind')} (looked for {path})"]
        if path not in _crd_cache:
            schema = json.loads(path.read_text())
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
            _crd_cache[path] = cls(schema)
        errors = [f"{name}: {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                  for e in _crd_cache[path].iter_errors(doc)]
        md = doc.get("metadata") or {}
        extra = set(md) - META_KEYS
        if extra:
            errors.append(f"{name}: unknown metadata fields {sorted(extra)}")
        for field in ("labels", "annotations"):
            for k, v in (md.get(field) or {}).items():
                if not isinstance(v, str):
                    errors.append(f"{name}: metadata.{field}.{k} is not a string")
        if not md.get("name"):
            errors.append(f"{name}: metadata.name missing")
        return errors
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except SchemaNotFoundError as e:
        return [f"{name}: no schema for {doc.get('apiVersion')} {doc.get('kind')} in Kubernetes {K8S_VERSION}: {e}"]
    except kubernetes_validate.ValidationError as e:
        return [f"{name}: {'/'.join(map(str, e.path))}: {e.message}"]
    return []


def validate_docs(docs: Iterable[Doc]) -> list[str]:
    out: list[str] = []
    for d in docs:
        out += validate_doc(d)
    return out


# --------------------------------------------------------------------------
# pod templates
# --------------------------------------------------------------------------

@dataclass
class PodTpl:
    owner: Doc
    kind: str
    name: str
    labels: dict[str, str]
    spec: Doc

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"

    def containers(self) -> Iterator[tuple[str, Doc]]:
        for field in ("initContainers", "containers", "ephemeralContainers"):
            for c in self.spec.get(field) or []:
                yield field, c


def pod_templates(docs: Iterable[Doc]) -> list[PodTpl]:
    out = []
    for d in docs:
        kind = d.get("kind")
        name = (d.get("metadata") or {}).get("name", "?")
        tpl = None
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            tpl = (d.get("spec") or {}).get("template")
        elif kind == "CronJob":
            tpl = (((d.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template")
        elif kind == "PodTemplate":
            tpl = d.get("template")
        elif kind == "Pod":
            tpl = {"metadata": d.get("metadata") or {}, "spec": d.get("spec") or {}}
        if tpl is not None:
            out.append(PodTpl(d, kind, name, dict((tpl.get("metadata") or {}).get("labels") or {}),
                              tpl.get("spec") or {}))
    return out


RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret", "image"}
SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                "net.ipv4.tcp_keepalive_probes"}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def check_pss_restricted(docs: Iterable[Doc]) -> list[str]:
    """Pod Security Standards "restricted" (which includes "baseline") for
    every pod template, as implemented by k8s.io/pod-security-admission."""
    v: list[str] = []
    for p in pod_templates(docs):
        s, pid = p.spec, p.id
        psc = s.get("securityContext") or {}
        for f in ("hostNetwork", "hostPID", "hostIPC"):
            if s.get(f):
                v.append(f"{pid}: {f} is set")
        if s.get("hostUsers") is False:
            pass  # user namespaces are allowed
        for vol in s.get("volumes") or []:
            types = set(vol) - {"name"}
            bad = types - RESTRICTED_VOLUME_TYPES
            if bad:
                v.append(f"{pid}: volume {vol.get('name')} uses forbidden type {sorted(bad)}")
        for sc in psc.get("sysctls") or []:
            if sc.get("name") not in SAFE_SYSCTLS:
                v.append(f"{pid}: unsafe sysctl {sc.get('name')}")
        pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
        if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
            v.append(f"{pid}: pod seccompProfile {pod_seccomp}")
        if (psc.get("windowsOptions") or {}).get("hostProcess"):
            v.append(f"{pid}: hostProcess")
        if psc.get("runAsUser") == 0:
            v.append(f"{pid}: pod runAsUser 0")
        se = psc.get("seLinuxOptions") or {}
        if se.get("type", "") not in SELINUX_TYPES or se.get("user") or se.get("role"):
            v.append(f"{pid}: pod seLinuxOptions not allowed")
        if (psc.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
            v.append(f"{pid}: pod appArmorProfile not allowed")
        for field, c in p.containers():
            cid = f"{pid} {field}[{c.get('name')}]"
            sc = c.get("securityContext") or {}
            if sc.get("privileged"):
                v.append(f"{cid}: privileged")
            if sc.get("allowPrivilegeEscalation") is not False:
                v.append(f"{cid}: allowPrivilegeEscalation must be false")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                v.append(f"{cid}: capabilities.drop must include ALL")
            extra = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
            if extra:
                v.append(f"{cid}: capabilities.add {sorted(extra)}")
            non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
            if non_root is not True:
                v.append(f"{cid}: runAsNonRoot must be true (pod or container)")
            if sc.get("runAsUser") == 0:
                v.append(f"{cid}: runAsUser 0")
            seccomp = (sc.get("seccompProfile") or {}).get("type", pod_seccomp)
            if seccomp not in ("RuntimeDefault", "Localhost"):
                v.append(f"{cid}: seccompProfile must be RuntimeDefault or Localhost (got {seccomp})")
            if sc.get("procMount", "Default") != "Default":
                v.append(f"{cid}: procMount {sc.get('procMount')}")
            if (sc.get("windowsOptions") or {}).get("hostProcess"):
                v.append(f"{cid}: hostProcess")
            cse = sc.get("seLinuxOptions") or {}
            if cse.get("type", "") not in SELINUX_TYPES or cse.get("user") or cse.get("role"):
                v.append(f"{cid}: seLinuxOptions not allowed")
            if (sc.get("appArmorProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
                v.append(f"{cid}: appArmorProfile not allowed")
            for port in c.get("ports") or []:
                if port.get("hostPort"):
                    v.append(f"{cid}: hostPort {port.get('hostPort')}")
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                for h in ("httpGet", "tcpSocket"):
                    if ((c.get(probe) or {}).get(h) or {}).get("host"):
                        v.append(f"{cid}: {probe}.{h}.host is set")
    return v


# ServiceAccounts whose pods may mount an API token (they call the API).
TOKEN_ALLOWED = {"mlp-worker"}
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet")


def check_hardening(docs: Iterable[Doc]) -> list[str]:
    """Beyond PSS: read-only root filesystem, requests and limits, no API
    token unless needed, probes on long-running containers, explicit
    ServiceAccount, priority class and node placement."""
    docs = list(docs)
    v: list[str] = []
    sas = {(d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in find(docs, "ServiceAccount")}
    pcs = {d["metadata"]["name"] for d in find(docs, "PriorityClass")}
    for p in pod_templates(docs):
        s, pid = p.spec, p.id
        sa_name = s.get("serviceAccountName")
        if not sa_name or sa_name == "default":
            v.append(f"{pid}: must use a dedicated serviceAccountName")
        ns = (p.owner.get("metadata") or {}).get("namespace")
        sa = sas.get((ns, sa_name))
        if sa_name and sa_name != "default" and sa is None:
            v.append(f"{pid}: ServiceAccount {sa_name} not rendered")
        automount = s.get("automountServiceAccountToken")
        if automount is None and sa is not None:
            automount = sa.get("automountServiceAccountToken")
        if automount is not False and sa_name not in TOKEN_ALLOWED:
            v.append(f"{pid}: automountServiceAccountToken must be false (SA {sa_name} needs no API access)")
        if not s.get("priorityClassName"):
            v.append(f"{pid}: priorityClassName missing")
        elif pcs and s["priorityClassName"] not in pcs:
            v.append(f"{pid}: priorityClass {s['priorityClassName']} not rendered")
        if not s.get("nodeSelector") and not (s.get("affinity") or {}).get("nodeAffinity"):
            v.append(f"{pid}: no node placement (nodeSelector/nodeAffinity)")
        for field, c in p.containers():
            cid = f"{pid} {field}[{c.get('name')}]"
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                v.append(f"{cid}: readOnlyRootFilesystem must be true")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(kind) or {}):
                        v.append(f"{cid}: resources.{kind}.{r} missing")
            if field == "containers" and p.kind in LONG_RUNNING:
                for probe in ("livenessProbe", "readinessProbe"):
                    if not c.get(probe):
                        v.append(f"{cid}: {probe} missing")
            for e in c.get("env") or []:
                if re.search(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY|ACCESS_KEY", e.get("name", ""), re.I) \
                        and "value" in e and not e["name"].endswith("_FILE"):
                    v.append(f"{cid}: env {e['name']} holds a literal secret value")
    return v


def check_namespaces(docs: Iterable[Doc]) -> list[str]:
    """Namespaced objects carry an explicit namespace: ml-platform, or velero
    for Velero Schedules; the platform namespace enforces PSS restricted."""
    cluster_scoped = {"Namespace", "PriorityClass", "ClusterRole", "ClusterRoleBinding", "StorageClass",
                      "CustomResourceDefinition", "ClusterSecretStore", "IngressClass"}
    v = []
    docs = list(docs)
    for d in docs:
        md = d.get("metadata") or {}
        if d.get("kind") in cluster_scoped:
            if md.get("namespace"):
                v.append(f"{ident(d)}: cluster-scoped object with a namespace")
            continue
        ns = md.get("namespace")
        if d.get("apiVersion", "").startswith("velero.io/"):
            if ns != "velero":
                v.append(f"{ident(d)}: Velero objects belong in namespace velero")
        elif ns != NAMESPACE:
            v.append(f"{ident(d)}: namespace must be {NAMESPACE} (got {ns})")
    nss = find(docs, "Namespace", NAMESPACE)
    if not nss:
        v.append(f"Namespace {NAMESPACE} not rendered")
    for n in nss:
        labels = n["metadata"].get("labels") or {}
        for mode in ("enforce", "audit", "warn"):
            if labels.get(f"pod-security.kubernetes.io/{mode}") != "restricted":
                v.append(f"Namespace {NAMESPACE}: pod-security.kubernetes.io/{mode} must be restricted")
    return v


def check_placeholders(docs: Iterable[Doc]) -> list[str]:
    """No REPLACED_BY_OVERLAY left (a Terraform output was not wired in)."""
    v = []
    for d in docs:
        if PLACEHOLDER in json.dumps(d):
            v.append(f"{ident(d)}: contains {PLACEHOLDER}")
    return v


# --------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------

IMAGE_RE = re.compile(r"^(?P<repo>[^@]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")
RELEASE_TAG = re.compile(r"^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$|^\d+-\d+\.\d+\.\d+$")


def all_images(docs: Iterable[Doc]) -> list[tuple[str, str]]:
    out = []
    for p in pod_templates(docs):
        for field, c in p.containers():
            out.append((f"{p.id} {field}[{c.get('name')}]", c.get("image", "")))
    return out


def check_images(docs: Iterable[Doc], env: str) -> list[str]:
    """Every image has an explicit tag or digest and never `latest`. In prod
    the tag must be a release version (or a digest), from a real registry."""
    v = []
    for cid, image in all_images(docs):
        m = IMAGE_RE.match(image or "")
        if not image or not m:
            v.append(f"{cid}: unparsable image {image!r}")
            continue
        tag, digest = m.group("tag"), m.group("digest")
        # "host:port/name" without tag: the regex may take the port as tag.
        if tag and "/" in tag:
            tag = None
        if not tag and not digest:
            v.append(f"{cid}: image {image} has no tag or digest")
        if tag == "latest":
            v.append(f"{cid}: image {image} uses :latest")
        if env == "prod":
            if not digest and not (tag and RELEASE_TAG.match(tag)):
                v.append(f"{cid}: prod image {image} is not pinned to a release version or digest")
            if m.group("repo").startswith(("localhost", "127.0.0.1")):
                v.append(f"{cid}: prod image {image} comes from a local registry")
    return v


# --------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------

SECRETISH_KEY = re.compile(r"(password|passwd|secret|token|private[_-]?key|access[_-]?key|credential)", re.I)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.I)
AWS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")
PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def _secretish_value(value: str) -> bool:
    return bool(URL_WITH_PASSWORD.search(value) or AWS_KEY.search(value) or PEM.search(value))


def check_secrets(docs: Iterable[Doc], env: str) -> list[str]:
    """No plaintext secret in ConfigMaps or env literals. Cloud overlays ship
    no Secret objects at all (ExternalSecrets only); locally, Secrets come
    only from kustomize's secretGenerator (hash-suffixed names)."""
    docs = list(docs)
    v = []
    for cm in find(docs, "ConfigMap"):
        for k, val in (cm.get("data") or {}).items():
            val = str(val)
            if _secretish_value(val):
                v.append(f"{ident(cm)}: key {k} looks like it contains a credential")
            if SECRETISH_KEY.search(k) and not k.endswith(("_FILE", "_ARN", "_NAME")) and val.strip():
                v.append(f"{ident(cm)}: key {k} names a secret; mount it from a Secret instead")
    for p in pod_templates(docs):
        for field, c in p.containers():
            for e in c.get("env") or []:
                if "value" in e and _secretish_value(str(e["value"])):
                    v.append(f"{p.id} {field}[{c.get('name')}]: env {e.get('name')} contains a credential")
            for a in (c.get("args") or []) + (c.get("command") or []):
                if _secretish_value(str(a)):
                    v.append(f"{p.id} {field}[{c.get('name')}]: argument contains a credential")
    for s in find(docs, "Secret"):
        if env in CLOUD_ENVS:
            v.append(f"{ident(s)}: cloud overlays must not ship Secrets (use an ExternalSecret)")
        elif not re.search(r"-[a-z0-9]{10}$", s["metadata"]["name"]):
            v.append(f"{ident(s)}: Secret not produced by secretGenerator (committed secret?)")
    return v


def check_committed_secrets(root: Path = K8S_DIR) -> list[str]:
    """Source tree: no Secret manifests with data and no secretGenerator
    literals (values must come from git-ignored generated files)."""
    v = []
    for f in sorted(root.rglob("*.y*ml")):
        if "secrets" in f.parts:
            continue
        try:
            docs = load_docs(f.read_text())
        except yaml.YAMLError as e:
            v.append(f"{f}: YAML error {e}")
            continue
        for d in docs:
            if not isinstance(d, dict):
                continue
            if d.get("kind") == "Secret" and (d.get("data") or d.get("stringData")):
                v.append(f"{f}: committed Secret {d.get('metadata', {}).get('name')} with data")
            for g in d.get("secretGenerator") or []:
                if g.get("literals"):
                    v.append(f"{f}: secretGenerator {g.get('name')} uses literals")
                for src in (g.get("files") or []) + (g.get("envs") or []):
                    path = (f.parent / src.split("=", 1)[-1]).resolve()
                    if not _git_ignored(path):
                        v.append(f"{f}: secretGenerator {g.get('name')} reads {src}, which is not git-ignored")
    return v


def _git_ignored(path: Path) -> bool:
    proc = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", "--no-index", str(path)],
                          capture_output=True)
    return proc.returncode == 0


# --------------------------------------------------------------------------
# RBAC, services, references
# --------------------------------------------------------------------------

def check_rbac(docs: Iterable[Doc]) -> list[str]:
    """No wildcards, no exec/attach/escalate/impersonate, no secrets access,
    nothing cluster-wide, and the worker's Role is exactly what it needs."""
    docs = list(docs)
    v = []
    for d in find(docs, "ClusterRole") + find(docs, "ClusterRoleBinding"):
        v.append(f"{ident(d)}: the platform must not need cluster-wide RBAC")
    for r in find(docs, "Role"):
        for rule in r.get("rules") or []:
            for field in ("apiGroups", "resources", "verbs"):
                if "*" in (rule.get(field) or []):
                    v.append(f"{ident(r)}: wildcard in {field}")
            res = set(rule.get("resources") or [])
            banned = {"pods/exec", "pods/attach", "pods/portforward", "secrets"}
            # Creating and deleting Secrets without reading any (the worker's per-attempt
            # token Secret) is not secrets access.
            if set(rule.get("verbs") or []) <= {"create", "delete"}:
                banned.discard("secrets")
            if res & banned:
                v.append(f"{ident(r)}: grants {sorted(res & banned)}")
            if set(rule.get("verbs") or []) & {"escalate", "bind", "impersonate"}:
                v.append(f"{ident(r)}: grants escalate/bind/impersonate")
    for rb in find(docs, "RoleBinding"):
        if rb.get("roleRef", {}).get("kind") == "ClusterRole":
            v.append(f"{ident(rb)}: binds a ClusterRole")
    worker = find(docs, "Role", "mlp-worker")
    if not worker:
        v.append("Role mlp-worker missing")
    else:
        grants = {(g, res, verb) for rule in worker[0].get("rules") or []
                  for g in rule.get("apiGroups") or [] for res in rule.get("resources") or []
                  for verb in rule.get("verbs") or []}
        need = {("batch", "jobs", x) for x in ("create", "get", "list", "watch", "delete", "patch")} | \
               {("", "pods", x) for x in ("get", "list", "watch")} | {("", "pods/log", "get")} | \
               {(g, res, x) for g, res in (("", "secrets"), ("", "services"), ("networking.k8s.io", "networkpolicies"))
                for x in ("create", "delete")}
        allowed_extra = {("", "podtemplates", x) for x in ("get", "list", "watch")}
        if need - grants:
            v.append(f"Role mlp-worker lacks {sorted(need - grants)}")
        if grants - need - allowed_extra:
            v.append(f"Role mlp-worker grants more than needed: {sorted(grants - need - allowed_extra)}")
    return v


def _selector_matches(selector: Doc | None, labels: dict[str, str]) -> bool:
    """Kubernetes LabelSelector semantics; an empty selector matches all."""
    selector = selector or {}
    for k, val in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != val:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and labels.get(key) in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def check_references(docs: Iterable[Doc]) -> list[str]:
    """Services select pods and target declared ports, Ingress backends exist,
    HPA/PDB targets exist, ConfigMaps/Secrets that pods reference are rendered
    (or produced by an ExternalSecret)."""
    docs = list(docs)
    v = []
    pods = [p for p in pod_templates(docs) if p.kind != "PodTemplate"]
    services = {d["metadata"]["name"]: d for d in find(docs, "Service")}
    for name, svc in services.items():
        sel = (svc.get("spec") or {}).get("selector") or {}
        if svc["spec"].get("type", "ClusterIP") not in ("ClusterIP",):
            v.append(f"Service {name}: type {svc['spec'].get('type')} (only ClusterIP; ingress via Ingress)")
        targets = [p for p in pods if sel and all(p.labels.get(k) == x for k, x in sel.items())]
        if not targets:
            v.append(f"Service {name}: selects no pod")
            continue
        for port in svc["spec"].get("ports") or []:
            tp = port.get("targetPort", port.get("port"))
            ok = any(cp.get("name") == tp or cp.get("containerPort") == tp
                     for p in targets for _, c in p.containers() for cp in c.get("ports") or [])
            if not ok:
                v.append(f"Service {name}: targetPort {tp} not exposed by its pods")
    for ing in find(docs, "Ingress"):
        for rule in ing["spec"].get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                b = (path.get("backend") or {}).get("service") or {}
                svc = services.get(b.get("name"))
                if svc is None:
                    v.append(f"{ident(ing)}: backend service {b.get('name')} missing")
                elif not any(p.get("port") == b.get("port", {}).get("number") for p in svc["spec"]["ports"]):
                    v.append(f"{ident(ing)}: service {b.get('name')} has no port {b.get('port')}")
    workloads = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for hpa in find(docs, "HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        if (ref["kind"], ref["name"]) not in workloads:
            v.append(f"{ident(hpa)}: target {ref['kind']}/{ref['name']} missing")
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
            v.append(f"{ident(hpa)}: minReplicas > maxReplicas")
    for pdb in find(docs, "PodDisruptionBudget"):
        if not any(_selector_matches(pdb["spec"].get("selector"), p.labels) for p in pods):
            v.append(f"{ident(pdb)}: selects no pod")
        if pdb["spec"].get("maxUnavailable") in (0, "0%") or pdb["spec"].get("minAvailable") == "100%":
            v.append(f"{ident(pdb)}: blocks every voluntary disruption")
    cms = {d["metadata"]["name"] for d in find(docs, "ConfigMap")}
    secrets = {d["metadata"]["name"] for d in find(docs, "Secret")}
    secrets |= {((d["spec"].get("target") or {}).get("name") or d["metadata"]["name"])
                for d in find(docs, "ExternalSecret")}
    for p in pod_templates(docs):
        refs: list[tuple[str, str, bool]] = []
        for vol in p.spec.get("volumes") or []:
            if "configMap" in vol:
                refs.append(("ConfigMap", vol["configMap"]["name"], vol["configMap"].get("optional", False)))
            if "secret" in vol:
                refs.append(("Secret", vol["secret"]["secretName"], vol["secret"].get("optional", False)))
        for _, c in p.containers():
            for ef in c.get("envFrom") or []:
                if "configMapRef" in ef:
                    refs.append(("ConfigMap", ef["configMapRef"]["name"], ef["configMapRef"].get("optional", False)))
                if "secretRef" in ef:
                    refs.append(("Secret", ef["secretRef"]["name"], ef["secretRef"].get("optional", False)))
            for e in c.get("env") or []:
                vf = e.get("valueFrom") or {}
                if "configMapKeyRef" in vf:
                    refs.append(("ConfigMap", vf["configMapKeyRef"]["name"], vf["configMapKeyRef"].get("optional", False)))
                if "secretKeyRef" in vf:
                    refs.append(("Secret", vf["secretKeyRef"]["name"], vf["secretKeyRef"].get("optional", False)))
        for kind, name, optional in refs:
            pool = cms if kind == "ConfigMap" else secrets
            if name not in pool and not optional:
                v.append(f"{p.id}: references {kind} {name}, which is not rendered")
    return v


def check_cronjobs(docs: Iterable[Doc]) -> list[str]:
    """CronJobs: no overlap, deadlines, bounded history, valid 5-field cron."""
    v = []
    for cj in find(docs, "CronJob"):
        s = cj["spec"]
        if s.get("concurrencyPolicy") != "Forbid":
            v.append(f"{ident(cj)}: concurrencyPolicy must be Forbid")
        if not s.get("startingDeadlineSeconds"):
            v.append(f"{ident(cj)}: startingDeadlineSeconds missing")
        job = s["jobTemplate"]["spec"]
        if not job.get("activeDeadlineSeconds"):
            v.append(f"{ident(cj)}: activeDeadlineSeconds missing")
        if job.get("backoffLimit") is None:
            v.append(f"{ident(cj)}: backoffLimit missing")
        for f in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            if s.get(f) is None:
                v.append(f"{ident(cj)}: {f} missing")
        if not valid_cron(s.get("schedule", "")):
            v.append(f"{ident(cj)}: invalid schedule {s.get('schedule')!r}")
    return v


_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def valid_cron(expr: str) -> bool:
    parts = expr.split()
    if len(parts) != 5:
        return False
    limits = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    for part, (lo, hi) in zip(parts, limits):
        if not _CRON_FIELD.match(part):
            return False
        for n in re.findall(r"\d+", re.sub(r"/\d+", "", part)):
            if not lo <= int(n) <= hi:
                return False
    return True


def check_backups(docs: Iterable[Doc], env: str) -> list[str]:
    """Each environment has the nightly pg_dump CronJob (to object storage,
    with retention) and a Velero Schedule of the platform namespace."""
    docs = list(docs)
    v = []
    cj = find(docs, "CronJob", "mlp-pg-backup")
    if not cj:
        v.append(f"{env}: CronJob mlp-pg-backup missing")
    else:
        cfg = find(docs, "ConfigMap", "pg-backup-config", prefix=True)
        data = cfg[0].get("data", {}) if cfg else {}
        if not str(data.get("BACKUP_S3_URI", "")).startswith("s3://"):
            v.append(f"{env}: backup target BACKUP_S3_URI must be an s3:// URI")
        try:
            days = int(data.get("RETENTION_DAYS", "0"))
        except ValueError:
            days = 0
        if days < 1:
            v.append(f"{env}: RETENTION_DAYS must be >= 1")
        if env == "prod" and days < 30:
            v.append("prod: keep at least 30 days of dumps")
        if env == "local" and "minio" not in str(data.get("S3_ENDPOINT_URL", "")):
            v.append("local: the backup must go to the in-cluster MinIO")
    sched = [s for s in find(docs, "Schedule") if NAMESPACE in (s["spec"]["template"].get("includedNamespaces") or [])]
    if not sched:
        v.append(f"{env}: no Velero Schedule backing up {NAMESPACE}")
    for s in sched:
        if not s["spec"]["template"].get("ttl"):
            v.append(f"{ident(s)}: ttl missing")
        if not valid_cron(s["spec"].get("schedule", "")):
            v.append(f"{ident(s)}: invalid schedule")
    return v


# --------------------------------------------------------------------------
# scheduling (Kind simulation of the node groups)
# --------------------------------------------------------------------------

def kind_nodes(path: Path) -> list[dict]:
    cfg = yaml.safe_load(path.read_text())
    nodes = []
    for n in cfg.get("nodes") or []:
        taints = []
        if n.get("role") == "control-plane":
            taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
        for patch in n.get("kubeadmConfigPatches") or []:
            p = yaml.safe_load(patch)
            taints += ((p or {}).get("nodeRegistration") or {}).get("taints") or []
        nodes.append({"role": n.get("role"), "labels": n.get("labels") or {}, "taints": taints})
    return nodes


def _tolerates(tolerations: list[Doc], taint: Doc) -> bool:
    for t in tolerations or []:
        if t.get("effect") not in (None, "", taint.get("effect")):
            continue
        if t.get("operator") == "Exists" and t.get("key") in (None, taint.get("key")):
            return True
        if t.get("key") == taint.get("key") and str(t.get("value", "")) == str(taint.get("value", "")):
            return True
    return False


def check_schedulable(docs: Iterable[Doc], nodes: list[dict]) -> list[str]:
    """Every pod template fits at least one node: labels match the
    nodeSelector and required node affinity, all NoSchedule taints tolerated."""
    v = []
    for p in pod_templates(docs):
        sel = p.spec.get("nodeSelector") or {}
        req = ((((p.spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
        ok = False
        for n in nodes:
            if any(n["labels"].get(k) != val for k, val in sel.items()):
                continue
            if req and not any(_selector_matches({"matchExpressions": t.get("matchExpressions")}, n["labels"])
                               for t in req):
                continue
            if all(_tolerates(p.spec.get("tolerations") or [], t) for t in n["taints"]
                   if t.get("effect") in ("NoSchedule", "NoExecute")):
                ok = True
                break
        if not ok:
            v.append(f"{p.id}: fits no node (nodeSelector {sel}, tolerations {p.spec.get('tolerations')})")
    return v


# --------------------------------------------------------------------------
# NetworkPolicies
# --------------------------------------------------------------------------

def workload_of(labels: dict[str, str]) -> str | None:
    return labels.get("app.kubernetes.io/name")


def check_netpol_coverage(docs: Iterable[Doc]) -> list[str]:
    """Default deny (ingress+egress) and DNS egress exist; every pod is
    selected by a specific policy; every policy selects at least one pod."""
    docs = list(docs)
    v = []
    pols = find(docs, "NetworkPolicy")
    pods = pod_templates(docs)
    deny = [p for p in pols if not (p["spec"].get("podSelector") or {})
            and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    if not deny:
        v.append("no default-deny NetworkPolicy (podSelector {}, Ingress+Egress, no rules)")
    dns_ok = False
    for p in pols:
        if p["spec"].get("podSelector"):
            continue
        for rule in p["spec"].get("egress") or []:
            ports = {(x.get("protocol", "TCP"), x.get("port")) for x in rule.get("ports") or []}
            to_dns = any(((t.get("namespaceSelector") or {}).get("matchLabels") or {}).get(
                "kubernetes.io/metadata.name") == "kube-system" and
                ((t.get("podSelector") or {}).get("matchLabels") or {}).get("k8s-app") == "kube-dns"
                for t in rule.get("to") or [])
            if to_dns and {("UDP", 53), ("TCP", 53)} <= ports:
                dns_ok = True
    if not dns_ok:
        v.append("no DNS egress policy for all pods (kube-system/kube-dns, UDP+TCP 53)")
    for pod in pods:
        specific = [p for p in pols if p["spec"].get("podSelector")
                    and _selector_matches(p["spec"]["podSelector"], pod.labels)]
        if not specific:
            v.append(f"{pod.id}: not selected by any workload-specific NetworkPolicy")
    for p in pols:
        sel = p["spec"].get("podSelector")
        if sel and not any(_selector_matches(sel, pod.labels) for pod in pods):
            v.append(f"{ident(p)}: selects no pod")
    return v


def load_connectivity(path: Path = CONNECTIVITY_FILE) -> Doc:
    return yaml.safe_load(path.read_text())


def _env_class(conn: Doc, env: str) -> str:
    for cls, envs in conn["envClasses"].items():
        if env in envs:
            return cls
    raise KeyError(env)


def _infra_outputs(docs: list[Doc]) -> dict[str, str]:
    cms = find(docs, "ConfigMap", "mlp-infra-outputs", prefix=True)
    return dict(cms[0].get("data") or {}) if cms else {}


def _peer_token(peer_def: Doc, outputs: dict[str, str]) -> tuple:
    if "namespace" in peer_def:
        return ("ns", peer_def["namespace"], tuple(sorted((peer_def.get("podLabels") or {}).items())))
    cidr = peer_def.get("cidr") or outputs.get(peer_def.get("cidrFrom", ""), f"<missing {peer_def.get('cidrFrom')}>")
    return ("cidr", cidr, tuple(sorted(peer_def.get("except") or [])))


def expected_edges(conn: Doc, env: str, docs: list[Doc]) -> set[tuple]:
    """Edges (src, dst, port, proto) the connectivity file allows in ENV.
    Endpoints: ("pod", workload) or a peer token."""
    cls = _env_class(conn, env)
    outputs = _infra_outputs(docs)
    workloads = {w for w, d in conn["workloads"].items() if env in d.get("envs", [])}
    peers = {name: _peer_token(d[cls], outputs) for name, d in conn["peers"].items() if cls in d}

    def expand(ends) -> list[tuple] | None:
        ends = ends if isinstance(ends, list) else [ends]
        out = []
        for e in ends:
            if e == "*":
                out += [("pod", w) for w in sorted(workloads)]
            elif e in conn["workloads"]:
                if e in workloads:
                    out.append(("pod", e))
            elif e in conn["peers"]:
                if e in peers:
                    out.append(peers[e])
            else:
                raise KeyError(f"connectivity.yaml: unknown endpoint {e}")
        return out

    edges = set()
    for f in conn["flows"]:
        if "envs" in f and env not in f["envs"]:
            continue
        for s in expand(f["from"]):
            for d in expand(f["to"]):
                for port in f["ports"]:
                    num, proto = str(port).split("/")
                    edges.add((s, d, int(num), proto))
    return edges


def _policy_peer_tokens(peer: Doc, pods: list[PodTpl], where: str, errors: list[str]) -> list[tuple]:
    if "ipBlock" in peer:
        ib = peer["ipBlock"]
        try:
            ipaddress.ip_network(ib["cidr"])
        except ValueError:
            errors.append(f"{where}: invalid CIDR {ib['cidr']!r}")
        return [("cidr", ib["cidr"], tuple(sorted(ib.get("except") or [])))]
    ns_sel = peer.get("namespaceSelector")
    pod_sel = peer.get("podSelector")
    if ns_sel is not None:
        ml = ns_sel.get("matchLabels") or {}
        if set(ml) != {"kubernetes.io/metadata.name"} or ns_sel.get("matchExpressions"):
            errors.append(f"{where}: namespaceSelector must name exactly one namespace via kubernetes.io/metadata.name")
            return []
        ns = ml["kubernetes.io/metadata.name"]
        if ns != NAMESPACE:
            if not pod_sel or pod_sel.get("matchExpressions") or not pod_sel.get("matchLabels"):
                errors.append(f"{where}: peer in namespace {ns} must select pods by matchLabels")
                return []
            return [("ns", ns, tuple(sorted(pod_sel["matchLabels"].items())))]
    matched = sorted({workload_of(p.labels) for p in pods if _selector_matches(pod_sel, p.labels)} - {None})
    if not matched:
        errors.append(f"{where}: peer selects no workload")
    return [("pod", w) for w in matched]


def actual_edges(docs: list[Doc]) -> tuple[set[tuple], set[tuple], list[str]]:
    """(ingress_edges, egress_edges, errors) derived from the NetworkPolicies."""
    pods = pod_templates(docs)
    ingress, egress, errors = set(), set(), []
    for pol in find(docs, "NetworkPolicy"):
        name = ident(pol)
        spec = pol["spec"]
        selected = sorted({workload_of(p.labels) for p in pods
                           if _selector_matches(spec.get("podSelector"), p.labels)} - {None})
        types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
        for direction, key, peer_key in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
            rules = spec.get(key) or []
            if rules and direction not in types:
                errors.append(f"{name}: has {key} rules but policyTypes lacks {direction}")
            for i, rule in enumerate(rules):
                where = f"{name} {key}[{i}]"
                if not rule.get(peer_key):
                    errors.append(f"{where}: no '{peer_key}' = every peer is allowed")
                    continue
                if not rule.get("ports"):
                    errors.append(f"{where}: no 'ports' = every port is allowed")
                    continue
                ports = []
                for p in rule["ports"]:
                    if not isinstance(p.get("port"), int) or p.get("endPort"):
                        errors.append(f"{where}: ports must be single numbers (got {p})")
                        continue
                    ports.append((p["port"], p.get("protocol", "TCP")))
                for peer in rule[peer_key]:
                    for tok in _policy_peer_tokens(peer, pods, where, errors):
                        for w in selected:
                            for port, proto in ports:
                                if direction == "Ingress":
                                    ingress.add((tok, ("pod", w), port, proto))
                                else:
                                    egress.add((("pod", w), tok, port, proto))
    return ingress, egress, errors


def _fmt(edge: tuple) -> str:
    def end(t):
        if t[0] == "pod":
            return t[1]
        if t[0] == "ns":
            return f"{t[1]}/{dict(t[2])}"
        return f"{t[1]}" + (f" except {list(t[2])}" if t[2] else "")
    return f"{end(edge[0])} -> {end(edge[1])} {edge[2]}/{edge[3]}"


def check_connectivity(docs: Iterable[Doc], env: str, conn: Doc | None = None) -> list[str]:
    """The paths the NetworkPolicies open are exactly connectivity.yaml's."""
    docs = list(docs)
    conn = conn or load_connectivity()
    v = []
    present = set()
    for p in pod_templates(docs):
        if workload_of(p.labels) is None:
            v.append(f"{env}: {p.id}: pods lack the app.kubernetes.io/name label (connectivity identity)")
        else:
            present.add(workload_of(p.labels))
    declared = {w for w, d in conn["workloads"].items() if env in d.get("envs", [])}
    for w in sorted(present - declared):
        v.append(f"{env}: workload {w} runs but is not declared in connectivity.yaml")
    for w in sorted(declared - present):
        v.append(f"{env}: workload {w} is declared but not rendered")
    expected = expected_edges(conn, env, docs)
    ingress, egress, errors = actual_edges(docs)
    v += [f"{env}: {e}" for e in errors]
    for e in sorted(expected, key=_fmt):
        src_pod, dst_pod = e[0][0] == "pod", e[1][0] == "pod"
        if src_pod and e not in egress:
            v.append(f"{env}: declared path not allowed by an egress policy: {_fmt(e)}")
        if dst_pod and e not in ingress:
            v.append(f"{env}: declared path not allowed by an ingress policy: {_fmt(e)}")
    for e in sorted((ingress | egress) - expected, key=_fmt):
        v.append(f"{env}: NetworkPolicies allow an undeclared path: {_fmt(e)}")
    return v


# --------------------------------------------------------------------------
# Argo CD
# --------------------------------------------------------------------------

def check_argocd(app_docs: list[Doc], repo: Path = REPO) -> list[str]:
    """Applications: in a non-default, rendered AppProject; source path exists;
    destination allowed by the project; dev automated prune+self-heal; prod
    never auto-syncs (and so never auto-prunes)."""
    v = []
    projects = {d["metadata"]["name"]: d for d in find(app_docs, "AppProject")}
    apps = find(app_docs, "Application")
    if not apps:
        v.append("no Argo CD Application")
    envs_seen = set()
    for app in apps:
        name = app["metadata"]["name"]
        spec = app["spec"]
        proj = spec.get("project")
        if proj in (None, "default"):
            v.append(f"Application {name}: must not use the default project")
        elif proj not in projects:
            v.append(f"Application {name}: project {proj} not defined")
        src = spec.get("source") or {}
        path = src.get("path", "")
        if not path or not (repo / path).is_dir():
            v.append(f"Application {name}: source path {path!r} does not exist in the repo")
        if proj in projects:
            p = projects[proj]["spec"]
            if not any(fnmatch.fnmatch(src.get("repoURL", ""), r) for r in p.get("sourceRepos") or []):
                v.append(f"Application {name}: repo not allowed by project {proj}")
            dest = spec.get("destination") or {}
            if not any((d.get("name") == dest.get("name") if "name" in d else d.get("server") == dest.get("server"))
                       and fnmatch.fnmatch(dest.get("namespace", ""), d.get("namespace", ""))
                       for d in p.get("destinations") or []):
                v.append(f"Application {name}: destination {dest} not allowed by project {proj}")
            if any(d.get("namespace") == "*" or d.get("server") == "*" or d.get("name") == "*"
                   for d in p.get("destinations") or []):
                v.append(f"AppProject {proj}: wildcard destination")
        m = re.search(r"overlays/(local|dev|staging|prod)$", path)
        if m:
            env = m.group(1)
            envs_seen.add(env)
            auto = (spec.get("syncPolicy") or {}).get("automated")
            if env == "dev" and not (auto and auto.get("prune") and auto.get("selfHeal")):
                v.append(f"Application {name}: dev must auto-sync with prune and selfHeal")
            if env == "prod" and auto is not None:
                v.append(f"Application {name}: prod must not auto-sync (manual sync, no auto-prune)")
            if env == "local":
                v.append(f"Application {name}: the local overlay is not deployed by Argo CD")
    for env in CLOUD_ENVS:
        if env not in envs_seen:
            v.append(f"no Application for overlays/{env}")
    return v


def mutate(docs: list[Doc], kind: str, name: str, fn) -> list[Doc]:
    """Deep copy of DOCS with FN applied to the (first) matching object."""
    out = copy.deepcopy(docs)
    targets = find(out, kind, name) or find(out, kind, name, prefix=True)
    if not targets:
        raise KeyError(f"{kind}/{name} not found")
    fn(targets[0])
    return out
