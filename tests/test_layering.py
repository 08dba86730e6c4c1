"""The import direction of DESIGN.md §10, read from the source itself.

`domain` ← stages (`injection`, `policies`, `mandates`, `wallets`, `audit`) ← `store`/`rails`
← `gate` (with the control plane and runtime beside it) ← `server`/`cli`. Stages never import
each other; only `store` speaks SQL; only `settings` reads the environment.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fiduciary"
STAGES = {"injection", "policies", "mandates", "wallets", "audit"}
LAYERS = {
    "domain": 0,
    **{stage: 1 for stage in STAGES},
    "store": 2,
    "rails": 2,
    **{name: 3 for name in ("gate", "parse", "control", "views", "runtime", "settings")},
    **{name: 4 for name in ("server", "cli", "demo", "__main__")},
}


def component(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "fiduciary"
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> dict[str, set[str]]:
    """Each module of the package and the fiduciary modules it imports (anywhere in its body)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        imports = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imports |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imports |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        found[name] = imports
    return found


def test_every_component_has_a_layer() -> None:
    for name in modules():
        if name != "fiduciary":
            assert component(name) in LAYERS, f"{name} has no layer in DESIGN.md §10"


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


def test_only_the_store_speaks_sql_and_only_settings_reads_the_environment() -> None:
    for name, imports in modules().items():
        if name == "fiduciary" or component(name) != "store":
            assert not imports & {"sqlite3", "aiosqlite"}, f"{name} speaks SQL"
    for path in PACKAGE.rglob("*.py"):
        if path.name != "settings.py":
            assert "os.environ" not in path.read_text(), f"{path} reads the environment"
