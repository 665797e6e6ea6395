"""The import graph of analysis/ and rbridge/ has no cycle (docs/ARCHITECTURE.md): every
import, at module level or inside a function, read from the source with ast."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("analysis", "rbridge")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules that `name` imports (a package's __init__ is not counted as the
    target when a submodule is named)."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    modules = _modules()
    known = set(modules)
    graph = {
        name: {t for t in _imports(path, name, known) if not name.startswith(t + ".")}
        for name, path in modules.items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def layer_rules() -> dict[str, tuple[str, ...]]:
    """docs/ARCHITECTURE.md's table between the layers markers: prefix -> forbidden prefixes."""
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = text.split("<!-- layers:start -->\n")[1].split("<!-- layers:end -->")[0]
    rules = {}
    for line in block.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        prefix = cells[0].strip("`")
        rules[prefix] = tuple(t.strip().strip("`") for t in cells[1].split(",") if t.strip())
    return rules


def _rule(name: str, rules: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    matching = [p for p in rules if name == p or name.startswith(p + ".")]
    return rules[max(matching, key=len)] if matching else ()


def violations(graph: dict[str, set[str]], rules: dict[str, tuple[str, ...]]) -> list[str]:
    """Every import the rules forbid ('a -> b'); a module never counts as importing itself,
    and an exhibit's package __init__ is no exhibit."""
    out = []
    for name, targets in sorted(graph.items()):
        forbidden = _rule(name, rules)
        for t in sorted(targets):
            if t == name or t == "analysis.exhibits" and name.startswith("analysis.exhibits"):
                continue
            if any(t == f or t.startswith(f + ".") for f in forbidden):
                out.append(f"{name} -> {t}")
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def test_the_layer_rules_of_the_architecture_page_hold() -> None:
    rules = layer_rules()
    assert {"analysis.estimators", "analysis.models", "analysis.exhibits", "analysis"} <= set(rules)
    assert violations(_graph(), rules) == []


def test_a_planted_violation_is_found() -> None:
    rules = layer_rules()
    graph = {
        "analysis.bench.stages": {"analysis.exhibits.baseline"},
        "analysis.estimators.matching": {"analysis.render.labels"},
        "analysis.exhibits.honest_did": {"analysis.exhibits.event_study", "analysis.models"},
        "analysis.catalogue": {"analysis.exhibits.baseline"},
        "analysis.cli": {"rbridge.crosscheck"},
    }
    assert violations(graph, rules) == [
        "analysis.bench.stages -> analysis.exhibits.baseline",
        "analysis.estimators.matching -> analysis.render.labels",
        "analysis.exhibits.honest_did -> analysis.exhibits.event_study",
    ]
