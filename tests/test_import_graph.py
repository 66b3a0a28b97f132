"""The package's modules import each other without circles (checked on the source with ``ast``), and only the
launch edge reads the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import qsearch

ROOT = Path(qsearch.__file__).parent
#: modules allowed to read os.environ: the launch edge, and the documented kernel escape hatch
#: the command-line edge (cli, the launch layer) and the kernel build, which puts the venv tools on PATH
ENVIRONMENT_READERS = {"qsearch.cli._app", "qsearch.execution._launch", "qsearch.snn._fused"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(ROOT.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module -> the qsearch modules it imports (at any depth of the file, lazy imports included; a package's
    ``__init__`` counts as a module of its own)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in modules.items():
        package = name if (ROOT.parent / Path(*name.split("."))).is_dir() else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert "qsearch.search._study" in graph and graph["qsearch.search._study"]  # the parse found the edges
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_launch_edge_reads_the_environment():
    readers = set()
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                    and isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.add(name)
    assert readers <= ENVIRONMENT_READERS, sorted(readers - ENVIRONMENT_READERS)


def _package_of(module: str) -> str:
    """The package a module belongs to: ``qsearch.record._storage`` -> ``qsearch.record``."""
    is_package = (ROOT.parent / Path(*module.split("."))).is_dir()
    return module if is_package else module.rpartition(".")[0]


def private_reaches(graph: dict[str, set[str]]) -> list[str]:
    """Imports of another package's private module (a name starting with ``_``): each package's ``__init__``
    (or a public module of it) is its contract."""
    found = []
    for name, targets in graph.items():
        for target in targets:
            leaf = target.rpartition(".")[2]
            shared = _package_of(target) == "qsearch"  # the root's private modules (``_norse``) serve every package
            if leaf.startswith("_") and not leaf.startswith("__") and not shared \
                    and _package_of(target) != _package_of(name):
                found.append(f"{name} -> {target}")
    return sorted(found)


def test_no_module_reaches_into_another_packages_private_module():
    graph = import_graph()
    assert "qsearch.record._storage" in graph
    assert private_reaches(graph) == []


def test_the_private_module_rule_sees_a_reach():
    graph = {"qsearch.cli": {"qsearch.record._storage", "qsearch.record"},
             "qsearch.record": {"qsearch.record._storage"}, "qsearch.record._storage": set()}
    assert private_reaches(graph) == ["qsearch.cli -> qsearch.record._storage"]


#: the packages of the middle, lowest first: a package imports only those before it (and the leaf packages)
LAYERS = ["qsearch.trial", "qsearch.record", "qsearch.search", "qsearch.confirm", "qsearch.execution"]


def test_the_middle_imports_point_one_way():
    graph = import_graph()
    upward = []
    for name, targets in graph.items():
        here = _package_of(name)
        if here not in LAYERS:
            continue
        for target in targets:
            there = _package_of(target)
            if there in LAYERS and LAYERS.index(there) > LAYERS.index(here):
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_every_stop_reason_written_is_in_the_registry():
    """No module writes or compares a stop reason as a bare string: each is a :class:`qsearch.stops.StopReason`
    (a ``reason=``/``stop_reason=`` argument or default, a ``*_REASON`` constant, a comparison)."""
    from qsearch.stops import StopReason

    words = {r.value for r in StopReason}
    written = []
    for name, tree in _modules().items():
        if name == "qsearch.stops":
            continue
        for node in ast.walk(tree):
            found: list[ast.expr] = []
            if isinstance(node, ast.keyword) and node.arg in ("stop_reason", "reason", "default"):
                found = [node.value]
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith("_REASON")
                                                      for t in node.targets):
                found = [node.value]
            elif isinstance(node, ast.Compare):
                found = [node.left, *node.comparators]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and len(node.args) == 2:
                found = [node.args[1]]
            written += [f"{name}:{node.lineno} {v.value!r}" for v in found
                        if isinstance(v, ast.Constant) and v.value in words]
    assert written == []
    assert {r.state for r in StopReason} == {"COMPLETE", "PRUNED", "FAIL"}
