"""The layout and import direction of docs/ARCHITECTURE.md §10, read from the source itself.

`domain` ← stages (`injection`, `policies`, `mandates`, `wallets`, `audit`) ← `store`/`rails`/`sinks`
← `keyring`/`settings` ← `gate`, `control`, `views`, `terminal` ← `runtime` ← surfaces
(`server`, `cli`, `demo`). Stages never import each other; there are no import cycles;
surfaces never import the store; only `runtime` imports the SQLite adapter; only the store
speaks SQL; only `settings` reads the environment.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fiduciary"
STAGES = {"injection", "policies", "mandates", "wallets", "audit"}
SURFACES = {"server", "cli", "demo", "__main__"}
LAYERS = {
    "domain": 0,
    **{stage: 1 for stage in STAGES},
    "store": 2,
    "rails": 2,
    "sinks": 2,
    "keyring": 3,
    "settings": 3,
    "logs": 3,
    "metrics": 3,
    **{name: 4 for name in ("gate", "control", "views", "terminal", "shapes")},
    "runtime": 5,
    **{name: 6 for name in SURFACES},
}


def component(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "fiduciary"
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> dict[str, set[str]]:
    """Each module of the package and the fiduciary modules it imports (anywhere in its body)."""
    names = {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in PACKAGE.rglob("*.py")
    }
    found = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        imports = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imports |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imports.add(node.module)
                # `from package import module` imports that module too; `from module import name` does not.
                imports |= {f"{node.module}.{alias.name}" for alias in node.names} & names
        found[name] = {i for i in imports if i in names or not i.startswith("fiduciary")}
    return found


def test_every_component_has_a_layer() -> None:
    for name in modules():
        if name != "fiduciary":
            assert component(name) in LAYERS, f"{name} has no layer in docs/ARCHITECTURE.md §10"


def test_lower_layers_never_import_higher_ones_and_stages_never_import_each_other() -> None:
    problems = []
    for name, imports in modules().items():
        if name == "fiduciary":
            continue
        here = component(name)
        for target in imports:
            if not target.startswith("fiduciary.") or target == "fiduciary.__version__":
                continue
            there = component(target)
            if there not in LAYERS or there == here:
                continue
            if LAYERS[there] > LAYERS[here]:
                problems.append(f"{name} imports higher layer {target}")
            if here in STAGES and there in STAGES:
                problems.append(f"stage {name} imports stage {target}")
    assert problems == []


def test_there_are_no_import_cycles() -> None:
    # `from package import sibling` runs the package first: an edge to one's own package is not a cycle.
    graph = {
        name: {i for i in imports if i.startswith("fiduciary") and not name.startswith(i + ".")}
        for name, imports in modules().items()
    }
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_components_do_not_import_each_other_in_a_circle() -> None:
    edges = {
        (component(name), component(target))
        for name, imports in modules().items()
        if name != "fiduciary"
        for target in imports
        if target.startswith("fiduciary.") and component(target) != component(name)
    }
    assert {(a, b) for a, b in edges if (b, a) in edges} == set()


def test_surfaces_never_import_the_store_and_only_runtime_builds_the_sqlite_adapter() -> None:
    for name, imports in modules().items():
        if name == "fiduciary":
            continue
        store_imports = {i for i in imports if i == "fiduciary.store" or i.startswith("fiduciary.store.")}
        if component(name) in SURFACES:
            assert not store_imports, f"surface {name} imports {store_imports}"
        adapter = {i for i in store_imports if i.startswith(("fiduciary.store.sqlite", "fiduciary.store.postgres"))}
        if component(name) not in ("store", "runtime"):
            assert not adapter, f"{name} imports a store adapter"


def test_only_the_store_speaks_sql_and_only_settings_reads_the_environment() -> None:
    for name, imports in modules().items():
        if name == "fiduciary" or component(name) != "store":
            assert not imports & {"sqlite3", "aiosqlite", "psycopg"}, f"{name} speaks SQL"
    for path in PACKAGE.rglob("*.py"):
        if path.name != "settings.py":
            assert "os.environ" not in path.read_text(), f"{path} reads the environment"
