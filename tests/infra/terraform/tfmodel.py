"""Static model of infrastructure/terraform, built from the parsed HCL.

Parsing uses `hcl2` (bc-python-hcl2, shipped with checkov). Every attribute
comes back as a one-element list; `one()` unwraps it. Where the parser
leaves an expression as a string (jsonencode bodies, types), the checks
work on the source text of the block instead.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

REPO = Path(__file__).resolve().parents[3]
TF_ROOT = REPO / "infrastructure" / "terraform"
MODULES = TF_ROOT / "modules"
ENVIRONMENTS = TF_ROOT / "environments"
ENV_NAMES = ["local", "dev", "staging", "prod"]
CLOUD_ENVS = ["dev", "staging", "prod"]

# local/cloud pairs that must expose one identical interface
PAIRS = [
    ("database/local", "database/cloud"),
    ("cache/local", "cache/cloud"),
    ("storage/local", "storage/cloud"),
    ("registry/local", "registry/cloud"),
    ("ingress/local", "ingress/cloud"),
    ("cluster/kind", "cluster/eks"),
]

META_ARGS = {"source", "version", "providers", "depends_on", "count", "for_each"}


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(TF_ROOT))
    except ValueError:
        return str(path)


def one(v):
    """Unwrap hcl2's one-element lists."""
    if isinstance(v, list) and len(v) == 1:
        return v[0]
    return v


def strip_comments(text: str) -> str:
    """Remove # and // line comments and /* */ blocks outside strings (good enough for our style)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        in_str = False
        cut = len(line)
        i = 0
        while i < len(line):
            c = line[i]
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            elif not in_str and (c == "#" or line.startswith("//", i)):
                cut = i
                break
            i += 1
        out.append(line[:cut])
    return "\n".join(out)


@dataclass
class Block:
    kind: str  # resource | data
    type: str
    name: str
    body: dict
    file: Path
    text: str  # source text of the block, comments stripped


@dataclass
class Module:
    path: Path
    files: dict = field(default_factory=dict)  # Path -> parsed dict
    texts: dict = field(default_factory=dict)  # Path -> raw text

    @property
    def rel(self) -> str:
        return rel(self.path)

    def blocks(self, key):
        for f, d in self.files.items():
            for item in d.get(key, []):
                yield f, item

    @functools.cached_property
    def variables(self) -> dict:
        return {n: b for _, v in self.blocks("variable") for n, b in v.items()}

    @functools.cached_property
    def outputs(self) -> dict:
        return {n: b for _, v in self.blocks("output") for n, b in v.items()}

    @functools.cached_property
    def module_calls(self) -> dict:
        return {n: b for _, v in self.blocks("module") for n, b in v.items()}

    @functools.cached_property
    def locals(self) -> set:
        names = set()
        for _, v in self.blocks("locals"):
            names.update(k for k in v if not k.startswith("__"))
        return names

    @functools.cached_property
    def terraform(self) -> dict:
        merged: dict = {}
        for _, t in self.blocks("terraform"):
            for k, v in t.items():
                merged.setdefault(k, v)
        return merged

    @functools.cached_property
    def required_providers(self) -> dict:
        rp = one(self.terraform.get("required_providers", [{}])) or {}
        return {k: one(v) for k, v in rp.items() if not k.startswith("__")}

    @functools.cached_property
    def resources(self) -> list[Block]:
        return self._typed_blocks("resource") + self._typed_blocks("data")

    def _typed_blocks(self, kind) -> list[Block]:
        out = []
        for f, item in self.blocks(kind):
            for rtype, named in item.items():
                for name, body in named.items():
                    lines = self.texts[f].splitlines()
                    start = body.get("__start_line__")
                    end = body.get("__end_line__")
                    if start is None:  # fall back to a regex on the header line
                        m = re.search(rf'^{kind} "{rtype}" "{name}"', self.texts[f], re.M)
                        start = self.texts[f][: m.start()].count("\n") + 1
                        end = _block_end(lines, start)
                    text = strip_comments("\n".join(lines[start - 1 : end]))
                    out.append(Block(kind, rtype, name, body, f, text))
        return out

    def of_type(self, rtype) -> list[Block]:
        return [b for b in self.resources if b.kind == "resource" and b.type == rtype]

    @functools.cached_property
    def code(self) -> str:
        """All .tf text of the module, comments stripped."""
        return "\n".join(strip_comments(t) for t in self.texts.values())


def _block_end(lines, start):
    depth = 0
    for i in range(start - 1, len(lines)):
        depth += lines[i].count("{") - lines[i].count("}")
        if depth == 0 and "{" in "".join(lines[start - 1 : i + 1]):
            return i + 1
    return len(lines)


def parse_file(path: Path) -> dict:
    with path.open() as fh:
        return hcl2.load(fh)


@functools.lru_cache(maxsize=None)
def load_module(path: Path) -> Module:
    m = Module(path=path)
    for f in sorted(path.glob("*.tf")):
        m.texts[f] = f.read_text()
        m.files[f] = parse_file(f)
    return m


def module_dirs() -> list[Path]:
    return sorted({p.parent for p in MODULES.rglob("*.tf") if ".terraform" not in p.parts})


CLOUD_ROOT = ENVIRONMENTS / "cloud"


def root_of(env: str) -> Path:
    """The root module an environment is applied with: its own directory (local) or the one
    cloud root shared by dev, staging and prod (which keep only tfvars and backend.hcl)."""
    own = ENVIRONMENTS / env
    return own if (own / "main.tf").exists() else CLOUD_ROOT


def env_dirs() -> list[Path]:
    """The root modules (local and the shared cloud root)."""
    return sorted({root_of(e) for e in ENV_NAMES})


def all_dirs() -> list[Path]:
    return module_dirs() + env_dirs()


def resolve_source(caller: Path, source: str) -> Path:
    return (caller / source).resolve()


def load_tfvars(*paths: Path) -> dict:
    merged: dict = {}
    for p in paths:
        for k, v in parse_file(p).items():
            merged[k] = one(v)
    return merged


def normalize_type(t) -> str:
    return re.sub(r"\s+", "", str(one(t)))


# Output attributes that are maps (free-form keys), not objects: only their
# presence is compared, not their keys.
MAP_ATTRS = {"default_annotations", "buckets", "repositories", "tags", "labels"}
NULL = "null"


def object_shape(value, name=None):
    """Key structure of an output value: nested object keys, leaves collapsed.

    A literal null stays "null": null is a value of every type, so it matches
    any shape (e.g. Kind has no Karpenter, S3 needs no static-key secret).
    """
    value = one(value)
    if value is None or value == "${null}":
        return NULL
    if isinstance(value, dict) and name not in MAP_ATTRS:
        return {k: object_shape(v, k) for k, v in value.items() if not k.startswith("__")}
    return "*"


def shapes_compatible(a, b) -> bool:
    if NULL in (a, b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(shapes_compatible(a[k], b[k]) for k in a)
    return a == b


# ---------------------------------------------------------------- checks
# Each returns a list of human-readable problems; tests assert it is empty,
# and test_tf_checkers.py proves each one reports a seeded violation.

def interface_diff(a: Module, b: Module) -> list[str]:
    problems = []
    va, vb = a.variables, b.variables
    for n in sorted(set(va) ^ set(vb)):
        problems.append(f"variable {n} only in {a.rel if n in va else b.rel}")
    for n in sorted(set(va) & set(vb)):
        if normalize_type(va[n].get("type")) != normalize_type(vb[n].get("type")):
            problems.append(f"variable {n}: type differs")
        if ("default" in va[n]) != ("default" in vb[n]) or one(va[n].get("default")) != one(vb[n].get("default")):
            problems.append(f"variable {n}: default differs")
    oa, ob = a.outputs, b.outputs
    for n in sorted(set(oa) ^ set(ob)):
        problems.append(f"output {n} only in {a.rel if n in oa else b.rel}")
    for n in sorted(set(oa) & set(ob)):
        if bool(one(oa[n].get("sensitive", False))) != bool(one(ob[n].get("sensitive", False))):
            problems.append(f"output {n}: sensitive differs")
        sa, sb = object_shape(oa[n].get("value")), object_shape(ob[n].get("value"))
        if not shapes_compatible(sa, sb):
            problems.append(f"output {n}: shapes differ: {sa} vs {sb}")
    return problems


def module_call_problems(caller: Module) -> list[str]:
    problems = []
    for name, body in caller.module_calls.items():
        src = one(body.get("source"))
        target = resolve_source(caller.path, src)
        if not target.is_dir() or not list(target.glob("*.tf")):
            problems.append(f"module.{name}: source {src} does not exist")
            continue
        callee = load_module(target)
        args = {k for k in body if k not in META_ARGS and not k.startswith("__")}
        for a in sorted(args - set(callee.variables)):
            problems.append(f"module.{name}: passes unknown variable {a}")
        required = {n for n, v in callee.variables.items() if "default" not in v}
        for r in sorted(required - args):
            problems.append(f"module.{name}: misses required variable {r}")
    return problems


PROVIDER_PREFIXES = ("aws", "kubernetes", "helm", "random", "kind", "docker", "kubectl")
_REF_RES = re.compile(r"(?<![.\w\"/-])((?:%s)_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)\b" % "|".join(PROVIDER_PREFIXES))
_REF_DATA = re.compile(r"(?<![.\w])data\.([a-z0-9_]+)\.([a-z_][a-z0-9_]*)")
_REF_VAR = re.compile(r"(?<![.\w])var\.([a-z_][a-z0-9_]*)")
_REF_LOCAL = re.compile(r"(?<![.\w])local\.([a-z_][a-z0-9_]*)")
_REF_MOD = re.compile(r"(?<![.\w])module\.([a-z_][a-z0-9_]*)(?:\[[^\]]*\])?\.([a-z_][a-z0-9_]*)")
_REF_TFDATA = re.compile(r"(?<![.\w])terraform_data\.([a-z_][a-z0-9_]*)")


def reference_problems(m: Module) -> list[str]:
    """A static stand-in for `terraform validate` where providers are unavailable."""
    code = m.code
    problems = []
    declared_res = {(b.type, b.name) for b in m.resources if b.kind == "resource"}
    declared_data = {(b.type, b.name) for b in m.resources if b.kind == "data"}
    for v in sorted(set(_REF_VAR.findall(code)) - set(m.variables)):
        problems.append(f"{m.rel}: var.{v} is not declared")
    for v in sorted(set(_REF_LOCAL.findall(code)) - m.locals):
        problems.append(f"{m.rel}: local.{v} is not defined")
    for t, n in sorted(set(_REF_DATA.findall(code)) - declared_data):
        problems.append(f"{m.rel}: data.{t}.{n} is not declared")
    code_wo_data = _REF_DATA.sub("", code)
    for t, n in sorted(set(_REF_RES.findall(code_wo_data)) - declared_res):
        problems.append(f"{m.rel}: {t}.{n} is not declared")
    for n in sorted(set(_REF_TFDATA.findall(code)) - {bn for bt, bn in declared_res if bt == "terraform_data"}):
        problems.append(f"{m.rel}: terraform_data.{n} is not declared")
    for mod, out in sorted(set(_REF_MOD.findall(code))):
        call = m.module_calls.get(mod)
        if call is None:
            problems.append(f"{m.rel}: module.{mod} is not declared")
            continue
        callee = load_module(resolve_source(m.path, one(call["source"])))
        if out not in callee.outputs:
            problems.append(f"{m.rel}: module.{mod}.{out} is not an output of {callee.rel}")
    return problems


_STATEMENT_START = re.compile(r"\bEffect\s*=")


def _enclosing_braces(text: str, pos: int) -> tuple[int, int]:
    depth = 0
    i = pos
    while i >= 0:
        if text[i] == "}":
            depth += 1
        elif text[i] == "{":
            if depth == 0:
                break
            depth -= 1
        i -= 1
    start = i
    depth = 0
    j = start
    while j < len(text):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                break
        j += 1
    return start, j + 1


def _attr_values(stmt: str, attr: str) -> list[str]:
    m = re.search(rf"\b{attr}\s*=\s*(\[[^\]]*\]|\"[^\"]*\"|[^\n]+)", stmt)
    if not m:
        return []
    raw = m.group(1)
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', raw)
    return strings if strings else [raw.strip()]


READ_ONLY_ACTION = re.compile(r"^[a-z0-9-]+:(Describe|Get|List)[A-Za-z]*$")


def iam_problems(block: Block) -> list[str]:
    """Wildcards in IAM-style policy statements inside one resource block."""
    problems = []
    text = block.text
    for m in _STATEMENT_START.finditer(text):
        s, e = _enclosing_braces(text, m.start())
        stmt = text[s:e]
        effect = (_attr_values(stmt, "Effect") or [""])[0]
        if effect != "Allow":
            continue
        actions = _attr_values(stmt, "Action")
        resources = _attr_values(stmt, "Resource")
        principal_root = re.search(r"Principal\s*=\s*\{\s*AWS\s*=\s*\"arn:[^\"]*:root\"", stmt) is not None
        key_policy = block.type == "aws_kms_key"
        where = f"{rel(block.file)}: {block.type}.{block.name}"
        for a in actions:
            if a == "*" or (a.endswith(":*") and not (key_policy and principal_root and a == "kms:*")):
                problems.append(f"{where}: wildcard action {a}")
        if "*" in resources and not key_policy:
            loose = [a for a in actions if not READ_ONLY_ACTION.match(a) and a != "pricing:GetProducts"]
            if loose:
                problems.append(f"{where}: Resource \"*\" with non-read-only actions {loose}")
    return problems


WORLD = ("0.0.0.0/0", "::/0")
SG_TYPES = ("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule")


def world_ingress_problems(block: Block) -> list[str]:
    if block.type not in SG_TYPES:
        return []
    text = block.text
    if block.type == "aws_security_group":
        # only inline ingress blocks matter; egress may reach the internet via NAT
        text = "\n".join(re.findall(r"ingress\s*\{[^}]*\}", text, re.S))
    if block.type == "aws_security_group_rule" and '"egress"' in text:
        return []
    return [f"{rel(block.file)}: {block.type}.{block.name} allows ingress from {w}" for w in WORLD if w in text]


SECRET_ATTR = re.compile(r"^(password|master_password|auth_token|secret_string|access_key|secret_key|token|client_secret)$", re.I)


def literal_secret_problems(body, where: str) -> list[str]:
    """Attributes whose name says secret and whose value is a literal string."""
    problems = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k.startswith("__"):
                    continue
                val = one(v)
                if SECRET_ATTR.match(k) and isinstance(val, str) and "${" not in val:
                    problems.append(f"{where}: {'.'.join(path + [k])} is a literal")
                walk(val, path + [k])
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(body, [])
    return problems
