"""The import graph of the feature packages runs one way: no feature imports one that imports
it back, directly or round a longer loop."""

import ast
from pathlib import Path

import clinic

PACKAGE = Path(clinic.__file__).parent


def feature_imports() -> dict[str, set[str]]:
    """Each feature package (a folder of clinic/) and the other features its modules import."""
    features = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    graph: dict[str, set[str]] = {name: set() for name in features}
    for name in features:
        for module in (PACKAGE / name).rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
                targets = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    targets = [node.module]
                elif isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                for target in targets:
                    parts = target.split(".")
                    if parts[0] == "clinic" and len(parts) > 1 and parts[1] in features:
                        graph[name].add(parts[1])
    for name in graph:
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every loop in the graph, as the path that closes it."""
    found, done = [], set()

    def visit(node, path):
        if node in path:
            found.append(path[path.index(node) :] + [node])
            return
        if node in done:
            return
        for target in sorted(graph[node]):
            visit(target, path + [node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_no_feature_imports_one_that_imports_it_back():
    assert cycles(feature_imports()) == []


def test_booking_uses_leads_and_the_lead_pages_sit_above_both():
    graph = feature_imports()
    assert "leads" in graph["booking"] and "booking" not in graph["leads"]
    assert {"booking", "leads"} <= graph["leads_admin"]


def test_the_cycle_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
