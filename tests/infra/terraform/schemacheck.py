"""Attribute-name check of provider-bound resources against provider schemas.

No Terraform provider can be downloaded here, but the npm registry carries
the (deprecated, still published) CDK for Terraform bindings, generated from
each provider's schema. Their index.d.ts files document every argument and
nested block as `Class#snake_name` and every readable attribute as a getter.
That is enough to catch unknown arguments, misspelt blocks and references
to attributes a resource does not have. Types and nesting are not checked.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import tfmodel as t

# Package list: provider-schemas.txt (aws 6.25.0, kubernetes 2.38.0,
# helm 3.1.1, random 3.7.2, docker 3.6.2). Not covered: tehcyx/kind,
# alekc/kubectl (no bindings published) and terraform_data (built in).

META = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection", "dynamic", "content"}
LIFECYCLE = {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by", "precondition", "postcondition"}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Schemas:
    def __init__(self, root: Path):
        self.root = root
        self.dirs = {}
        for pkg_dir in root.glob("cdktf-provider-*/package/lib"):
            provider = pkg_dir.parent.parent.name.split("-")[2]
            self.dirs[provider] = pkg_dir

    def provider_versions(self) -> dict:
        import json

        out = {}
        for provider, lib in self.dirs.items():
            meta = json.loads((lib.parent / "package.json").read_text())
            out[provider] = meta["cdktf"]["provider"]["version"]
        return out

    def covers(self, rtype: str) -> bool:
        return rtype.split("_")[0] in self.dirs

    @functools.lru_cache(maxsize=None)
    def names(self, kind: str, rtype: str):
        provider, rest = rtype.split("_", 1)
        base = self.dirs[provider]
        sub = rest.replace("_", "-")
        d = base / (f"data-{provider}-{sub}" if kind == "data" else sub)
        if not (d / "index.d.ts").exists():
            return None
        # large resources keep nested block structs in index-structs/*.d.ts
        text = "\n".join(f.read_text() for f in sorted(d.rglob("*.d.ts")))
        args = set(re.findall(r"[A-Za-z0-9]+#([a-z0-9_]+)", text))
        getters = {snake(g) for g in re.findall(r"get ([a-zA-Z0-9]+)\(\)", text)}
        return args, args | getters


def _keys(node, path, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k.startswith("__"):
                continue
            if k == "dynamic":
                for item in (v if isinstance(v, list) else [v]):
                    for label, body in item.items():
                        out.append((path, label))
                        content = t.one(body.get("content", [{}]))
                        _keys(content, path + [label], out)
                continue
            if k == "lifecycle":
                continue
            out.append((path, k))
            _keys(t.one(v), path + [k], out)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict):
                _keys(item, path, out)


def block_problems(schemas: Schemas, block: t.Block) -> list[str]:
    if block.type == "terraform_data" or not schemas.covers(block.type):
        return []
    found = schemas.names(block.kind, block.type)
    where = f"{t.rel(block.file)}: {block.kind} {block.type}.{block.name}"
    if found is None:
        return [f"{where}: unknown {block.kind} type"]
    args, _ = found
    problems = []
    keys: list = []
    _keys(block.body, [], keys)
    for path, k in keys:
        if not path and k in META:
            continue
        # values of map-typed arguments (tags, labels, data, ...) are free-form
        if path and path[-1] in FREE_FORM:
            continue
        if any(p in FREE_FORM for p in path):
            continue
        if k not in args:
            problems.append(f"{where}: unknown argument or block {'.'.join(path + [k])}")
    return problems


FREE_FORM = {"tags", "labels", "annotations", "data", "binary_data", "requests", "limits", "selector",
             "match_labels", "node_selector", "triggers", "keepers", "tags_all", "string_data", "event_pattern",
             "configuration_values", "input", "values", "set", "parameters"}

_ATTR_REF = re.compile(r"(?<![.\w\"/-])((?:aws|kubernetes|helm|random|docker)_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)(?:\[[^\]]*\])?\.([a-z_][a-z0-9_]*)")
_DATA_REF = re.compile(r"(?<![.\w])data\.((?:aws|kubernetes|helm|random|docker)_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)(?:\[[^\]]*\])?\.([a-z_][a-z0-9_]*)")


def reference_problems(schemas: Schemas, m: t.Module) -> list[str]:
    problems = []
    code = m.code
    for kind, rx in (("data", _DATA_REF), ("resource", _ATTR_REF)):
        text = code if kind == "data" else _DATA_REF.sub("", code)
        for rtype, name, attr in sorted(set(rx.findall(text))):
            if not schemas.covers(rtype):
                continue
            found = schemas.names(kind, rtype)
            if found is None:
                problems.append(f"{m.rel}: {kind} type {rtype} does not exist")
            elif attr not in found[1]:
                problems.append(f"{m.rel}: {rtype}.{name}.{attr} is not an attribute of {rtype}")
    return problems


def provider_block_problems(schemas: Schemas, m: t.Module) -> list[str]:
    """Arguments of `provider "x" {}` blocks in root modules."""
    problems = []
    for f, item in m.blocks("provider"):
        for name, body in item.items():
            if name not in schemas.dirs:
                continue
            text = "\n".join(p.read_text() for p in sorted((schemas.dirs[name] / "provider").rglob("*.d.ts")))
            args = set(re.findall(r"[A-Za-z0-9]+#([a-z0-9_]+)", text))
            keys: list = []
            _keys(body, [], keys)
            for path, k in keys:
                if path and any(p in FREE_FORM or p == "default_tags" and k != "tags" for p in path):
                    continue
                if k not in args and k != "alias":
                    problems.append(f"{t.rel(f)}: provider {name}: unknown argument {'.'.join(path + [k])}")
    return problems
