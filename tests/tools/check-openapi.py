#!/usr/bin/env python3
"""Check that openapi/husk.yaml describes exactly the routes husk-api serves.

  check-openapi.py [--root DIR]      (DIR: the source tree, default: this file's ../..)

Compares the spec's paths and methods with the route table in api/router.c (`routes[]`, one
`{"METHOD", "/pattern", handler, BODY_...}` per route). Placeholders are compared by position
only: `{}` and `{*}` in the table, `{id}` or `{name}` in the spec. An operation marked
`x-husk-pending: BRANCH` is described ahead of its branch's merge: it must be absent from the
table, and once the table has it, the mark must go. Also checked: swagger is "2.0", basePath is
/v<HUSK_API_VERSION of api/api.h>, every path parameter of a path is declared on each of its
operations, every operation has responses, and every $ref resolves.

Prints what it compared and each difference; exits 1 on any difference, 0 when all agree.
Needs PyYAML (Debian: python3-yaml).
"""
import argparse
import os
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("check-openapi: PyYAML is needed (Debian: python3-yaml, in contrib/debian-packages)")

METHODS = ("get", "put", "post", "delete", "head", "patch", "options")
ROUTE = re.compile(r'\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*(\w+)\s*\}')


def table_routes(router_c):
    """{(METHOD, normalised path): handler} from the routes[] initializer."""
    text = open(router_c, encoding="utf-8").read()
    m = re.search(r"routes\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    if not m:
        sys.exit(f"check-openapi: no routes[] table found in {router_c}")
    body = re.sub(r"/\*.*?\*/|//[^\n]*", "", m.group(1), flags=re.S)
    routes = {}
    for method, pattern, handler, _ in ROUTE.findall(body):
        routes[(method, re.sub(r"\{\*?\}", "{}", pattern))] = handler
    if not routes:
        sys.exit(f"check-openapi: routes[] in {router_c} has no route this script can read")
    return routes


def normalise(path):
    return re.sub(r"\{[^}/]+\}", "{}", path)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def walk_refs(node, where, found):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                found.append((where, v))
            else:
                walk_refs(v, f"{where}/{k}", found)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(v, f"{where}/{i}", found)


def api_version(api_h):
    m = re.search(r'#define\s+HUSK_API_VERSION\s+"([^"]+)"', open(api_h, encoding="utf-8").read())
    return m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = ap.parse_args()
    spec_path = os.path.join(args.root, "openapi", "husk.yaml")
    router_c = os.path.join(args.root, "api", "router.c")
    problems = []

    doc = yaml.safe_load(open(spec_path, encoding="utf-8"))
    routes = table_routes(router_c)

    if doc.get("swagger") != "2.0":
        problems.append(f'swagger is {doc.get("swagger")!r}, not "2.0"')
    version = api_version(os.path.join(args.root, "api", "api.h"))
    if version and doc.get("basePath") != f"/v{version}":
        problems.append(f"basePath is {doc.get('basePath')!r}, husk advertises /v{version}")

    described, pending = {}, {}
    for path, item in (doc.get("paths") or {}).items():
        names = re.findall(r"\{([^}/]+)\}", path)
        shared = [p for p in item.get("parameters", []) if isinstance(p, dict)]
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            key = (method.upper(), normalise(path))
            label = f"{method.upper()} {path}"
            (pending if "x-husk-pending" in op else described)[key] = (label, op.get("x-husk-pending"))
            if not op.get("responses"):
                problems.append(f"{label}: no responses")
            declared = set()
            for p in shared + op.get("parameters", []):
                if isinstance(p, dict) and "$ref" in p:
                    p = resolve(doc, p["$ref"]) or {}
                if p.get("in") == "path":
                    declared.add(p.get("name"))
            for n in names:
                if n not in declared:
                    problems.append(f"{label}: path parameter {{{n}}} is not declared")

    for key, handler in sorted(routes.items()):
        if key in pending:
            label, branch = pending[key]
            problems.append(f"{label} is served now ({handler}): remove its x-husk-pending: {branch}")
        elif key not in described:
            problems.append(f"{key[0]} {key[1]} is served ({handler}) but not in openapi/husk.yaml")
    for key, (label, _) in sorted(described.items()):
        if key not in routes:
            problems.append(f"{label} is in openapi/husk.yaml but not in api/router.c "
                            "(mark it x-husk-pending: BRANCH if a branch brings it)")

    refs = []
    walk_refs(doc, "", refs)
    for where, ref in refs:
        if resolve(doc, ref) is None:
            problems.append(f"{where}: $ref {ref} does not resolve")

    print(f"check-openapi: {len(routes)} routes in api/router.c; openapi/husk.yaml describes "
          f"{len(described)} served and {len(pending)} pending operations, {len(refs)} $refs")
    for key, (label, branch) in sorted(pending.items()):
        print(f"  pending ({branch}): {label}")
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        print(f"check-openapi: {len(problems)} difference(s)")
        return 1
    print("check-openapi: the spec and the route table agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
