"""The package's imports, read with ``ast``: no import circle, no private name across packages.

A *package* is a top-level subpackage of ``roga_bench`` (``roga_bench.datasets``, ...); a module
directly under ``roga_bench`` (``tables``, ``_registry``, ...) is its own. Every import in a file
counts, lazy ones inside functions included: a lazy import hides a circle from the interpreter,
not from the design.

- circle: module A imports B (directly or through others) and B imports A. ``from pkg import x``
  is an edge to ``pkg.x`` when that is a module, else to ``pkg`` (its ``__init__``).
- private name across packages: importing, from another package, a module or a name whose own
  segment below that package starts with ``_`` (``roga_bench.training._saved``,
  ``roga_bench.datasets.cache._helper``). Root-level private modules (``roga_bench._registry``)
  are the root package's shared internals and may be imported anywhere; their ``_names`` may not.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "roga_bench"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _package(module: str) -> str:
    """``roga_bench.<sub>`` for a module inside a subpackage, else the module itself."""
    parts = module.split(".")
    if len(parts) >= 2 and (ROOT / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str, int]]:
    """``(imported module, full dotted name imported, line)`` for every roga_bench import."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "roga_bench":
                    out.append((alias.name, alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            if target.split(".")[0] != "roga_bench":
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                out.append((full if full in MODULES else target, full, node.lineno))
    return out


def _owner(full: str) -> str:
    """The longest prefix of ``full`` that is a module of the package."""
    parts = full.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in MODULES:
            return ".".join(parts[:n])
    return parts[0]


def _private_crossing(importer: str, full: str) -> list[str]:
    """The ``_private`` segments of ``full`` that ``importer`` reaches from another package."""
    package = _package(_owner(full))
    if package == _package(importer):
        return []
    below = full.split(".")[len(package.split(".")) :]
    return [s for s in below if s.startswith("_") and not s.startswith("__")]


def _graph() -> dict[str, set[str]]:
    return {
        m: {dest for dest, _, _ in _imports(m) if dest in MODULES and dest != m} for m in MODULES
    }


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_scan_sees_the_package():
    assert "roga_bench.datasets._split" in MODULES and "roga_bench.tables" in MODULES
    imported = {full for _, full, _ in _imports("roga_bench.datasets._split")}
    assert "roga_bench.datasets._frames.decode_frame" in imported


def test_the_checks_catch_what_they_are_for():
    assert _private_crossing("roga_bench.analysis._runs", "roga_bench.training._saved.x")
    assert _private_crossing("roga_bench.tables", "roga_bench.reporting._write.FORMATS")
    assert _private_crossing("roga_bench.bench._data", "roga_bench.datasets.cache._hp")
    assert not _private_crossing("roga_bench.datasets.ffpp", "roga_bench.datasets._index.SPLITS")
    assert not _private_crossing("roga_bench.datasets.ffpp", "roga_bench._registry.DATASETS")
    assert _private_crossing("roga_bench.datasets.ffpp", "roga_bench._registry._hidden")
    assert not _private_crossing("roga_bench.tables", "roga_bench.reporting.FORMATS")
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    circles = _circles(_graph())
    assert not circles, "import circles (every import counts, lazy ones too): " + "; ".join(
        " <-> ".join(c) for c in circles
    )


def test_no_private_name_imported_across_packages():
    bad = []
    for module in MODULES:
        for _, full, line in _imports(module):
            segments = _private_crossing(module, full)
            if segments:
                where = f"{MODULES[module].relative_to(ROOT.parent)}:{line}"
                bad.append(f"{where} imports {full} ({', '.join(segments)} is private)")
    assert not bad, "private names used across packages:\n" + "\n".join(bad)
