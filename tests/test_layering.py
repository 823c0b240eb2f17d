"""Who may import whom (docs/architecture.md), checked on the source: every import, also inside functions.

A lazy import is still a dependency: it is walked like any other. Only imports under ``if TYPE_CHECKING:``
are skipped (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nar_data", "nar_model", "nar", "flows")

#: nar_data's layers, lowest first: a module may import its own layer and the ones below, never above.
#: A module not listed sits in the layer of its longest listed prefix.
NAR_DATA_LAYERS: list[tuple[str, ...]] = [
    ("nar_data.schema", "nar_data.errors", "nar_data.config", "nar_data.versions", "nar_data.fingerprint",
     "nar_data.catalog", "nar_data.vocab_data"),
    ("nar_data", "nar_data.parquet", "nar_data.vocab", "nar_data.hand", "nar_data.labels"),
    ("nar_data.build",),
    ("nar_data.sources", "nar_data.presets"),
    ("nar_data.tracing",),
    ("nar_data.pool", "nar_data._warm", "nar_data.dataset", "nar_data.coverage", "nar_data.publish"),
    ("nar_data.hub",),
    ("nar_data.testing",),
]
#: What nar_model may use of nar_data: the foundation (graphs, their op vocabulary and hashes, Parquet I/O).
NAR_MODEL_MAY_IMPORT = ("nar_data", "nar_data.schema", "nar_data.parquet", "nar_data.errors", "nar_data.config",
                        "nar_data.vocab", "nar_data.fingerprint", "nar_data.hand")
#: Frameworks of the application layer: libraries (nar_data, nar_model, nar) never import them.
APP_ONLY = ("prefect", "typer")
#: Modules another change is moving: the rule is not enforced on them until it lands (remove when it does).
PENDING: dict[str, str] = {}
#: Packages whose cycles another change is fixing (skipped until it lands; remove the entry when it does).
PENDING_CYCLES: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).is_dir() else []:
            out[_module_name(path)] = path
    return out


MODULES = _modules()


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                skip.update(id(n) for n in ast.walk(sub))
    return skip


def imports_of(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports (absolute names), wherever the import statement is."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            # ``from pkg import sub`` imports the submodule; ``from pkg import name`` the package itself
            out.update(subs)
            if len(subs) < len(node.names):
                out.add(target)
    return out


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    best, layer = -1, -1
    for i, names in enumerate(NAR_DATA_LAYERS):
        for prefix in names:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), i
    assert layer >= 0, f"{name} is in no layer of NAR_DATA_LAYERS: add it to the layer it belongs to"
    return layer


def _top(name: str) -> str:
    return name.split(".")[0]


def _violations() -> list[str]:
    bad = []
    for name, targets in sorted(GRAPH.items()):
        if name in PENDING:
            continue
        top = _top(name)
        for t in sorted(targets):
            tt = _top(t)
            if top in ("nar_data", "nar_model", "nar") and tt in APP_ONLY:
                bad.append(f"{name} imports {t}: libraries never import {'/'.join(APP_ONLY)} (only flows/ does)")
            if tt not in PACKAGES:
                continue
            if top == "nar_data":
                if tt != "nar_data":
                    bad.append(f"{name} imports {t}: nar_data imports no other package of the project")
                elif _layer(t) > _layer(name):
                    bad.append(f"{name} (layer {_layer(name)}) imports {t} (layer {_layer(t)}): an upward import")
            elif top == "nar_model":
                if tt == "nar_data" and t not in NAR_MODEL_MAY_IMPORT:
                    bad.append(f"{name} imports {t}: nar_model uses only {', '.join(NAR_MODEL_MAY_IMPORT[1:])}")
                elif tt in ("nar", "flows"):
                    bad.append(f"{name} imports {t}: nar_model is below nar and flows")
            elif top == "nar" and tt == "flows":
                bad.append(f"{name} imports {t}: nar is a library below flows")
    return bad


def test_every_nar_data_module_has_a_layer() -> None:
    for name in MODULES:
        if name.startswith("nar_data"):
            _layer(name)


def test_no_upward_imports() -> None:
    bad = _violations()
    assert not bad, "imports against docs/architecture.md:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    """No cycle among the project's modules, counting imports inside functions."""
    edges = {n: {t for t in ts if t in GRAPH and t != n} for n, ts in GRAPH.items()}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles: list[list[str]] = []

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        stack.append(n)
        for t in sorted(edges[n]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                if not any(m == p or m.startswith(p + ".") for m in cycle for p in PENDING_CYCLES):
                    cycles.append(cycle)
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_library_code_reads_no_test_files() -> None:
    """Library code reads its data as package data, so an installed wheel works: never ``tests/``."""
    bad = [name for name, path in MODULES.items() if _top(name) != "flows"
           and any(s in path.read_text() for s in ('/ "tests"', "parents[2] / \"tests\"", "'tests' /"))]
    assert not bad, f"library modules reading the test tree: {bad}"


@pytest.mark.parametrize("source,target,ok", [
    ("nar_data.sources.timm", "nar_data.build.meta", True),
    ("nar_data.build.inputs", "nar_data.tracing", False),
    ("nar_data.sources.timm", "nar_data.hub.client", False),
])
def test_the_layer_check_itself(source: str, target: str, ok: bool) -> None:
    """The rule the test enforces, on known pairs (so a broken layer table cannot pass everything)."""
    assert (_layer(target) <= _layer(source)) is ok
