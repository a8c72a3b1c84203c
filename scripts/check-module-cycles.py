#!/usr/bin/env python3
"""Fail when modules of the library depend on each other in a cycle.

Reads every `src/**/*.rs` but the CLI and tests, collects the `crate::…`
and `super::…` paths each module uses (comments and `#[cfg(test)]` code
left out), and looks for cycles among top-level modules (`lock` ↔ `fetch`)
and among the children of one module (`lock::resolve` ↔ `lock::build_environment`).
A cycle means two pieces of the pipeline cannot be read or tested apart
(docs/architecture.md). Prints each cycle with its edges; exit 1 if any.
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    """Module path (`lock::resolve`) → file, without the CLI and tests."""
    found = {}
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if parts[-1] in ("lib", "main", "mod"):
                parts = parts[:-1]
            if not parts or parts[0] == "cli" or parts[-1] == "tests":
                continue
            found["::".join(parts)] = path
    return found


def code_of(path):
    """The file's text before its tests, without comment lines."""
    text = open(path, encoding="utf-8").read()
    cut = text.find("#[cfg(test)]")
    if cut >= 0:
        text = text[:cut]
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("//"))


def dependencies(module, text, known):
    parent = module.split("::")[:-1]
    paths = set(re.findall(r"crate::([a-z_]+(?:::[a-z_]+)*)", text))
    paths |= {"::".join(parent + [path]) for path in re.findall(r"\bsuper::([a-z_]+(?:::[a-z_]+)*)", text)}
    for group in re.findall(r"use super::\{([^}]*)\}", text):
        paths |= {"::".join(parent + [name]) for name in re.findall(r"\b([a-z_]+)\b", group)}
    result = set()
    for path in paths:
        parts = path.split("::")
        for length in range(len(parts), 0, -1):
            candidate = "::".join(parts[:length])
            if candidate in known:
                if candidate != module:
                    result.add(candidate)
                break
    return result


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def main():
    known = modules()
    edges = {module: dependencies(module, code_of(path), known) for module, path in known.items()}
    failed = False
    for depth in (1, 2):
        graph = {}
        for source, targets in edges.items():
            for target in targets:
                a = "::".join(source.split("::")[:depth])
                b = "::".join(target.split("::")[:depth])
                if a == b or (depth == 2 and a.split("::")[0] != b.split("::")[0]):
                    continue
                graph.setdefault(a, set()).add(b)
        for component in cycles(graph):
            failed = True
            print(f"module cycle: {' ↔ '.join(component)}", file=sys.stderr)
            for node in component:
                inside = sorted(target for target in graph.get(node, ()) if target in component)
                print(f"  {node} uses {', '.join(inside)}", file=sys.stderr)
    if failed:
        return 1
    print(f"no module cycles among {len(known)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
