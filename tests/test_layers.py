"""Dependencies run downward (DESIGN.md §3): no module imports one from a layer above it.

Layers, top first. A module may import its own layer and any layer below. `auth.policy` is
the one truth table of permissions: it reads the models of every feature (their SQL clauses),
and nothing else of theirs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

LAYERS: list[set[str]] = [
    {
        "__init__",
        "cli",
        "demo",
        "demo_large",
        "jobs",
        "ops",  # backup and restore, /healthz, /metrics: they read the jobs' state
    },  # the application shell: wires everything together
    {"main"},  # hub pages that gather several features
    {"portal"},  # the client's read-only portal: incidents shared, open repairs, sheets
    {"records"},  # control-record sheets: read every feature's records of a month
    {"dashboard"},  # the manager's dashboard and exports: figures of every feature below
    {"privacy"},  # personal data: reads the vault's log, the pledge, sites; adds a menu entry
    {"offboarding"},  # a client's departure: exports and purges its vault records
    {"pwa"},
    {"templating"},  # navigation and globals for every page
    {"arming"},  # arm/disarm records: the site card (main) shows its days
    {"custody"},  # key custody: shows its cards on inspections' pages, logs to the vault
    {"maintenance"},
    {"incidents"},
    {"inspections"},
    {"vault"},  # the confidential vault: may use briefings (the pledge), notifications
    {"briefings"},
    {"notifications"},
    {"photos"},
    {"sites"},
    {"company"},  # the company setting: its name, the calendar of printed dates
    {"auth"},
    {"authz"},
    {"audit"},
    {
        "security",
        "links",
        "errors",
        "request_log",
        "static_files",
        "vendor",
        "args",
        "forms",
        "htmx",
        "pagination",
        "i18n",
        "uow",
        "device_requests",
        "spreadsheet",
    },
    {"extensions"},
    {"db", "config", "files", "phones"},  # phones: pure Taiwan phone-number rules
]


def _layer(name: str) -> int:
    for depth, names in enumerate(LAYERS):
        if name in names:
            return depth
    raise AssertionError(f"app.{name} is in no layer: add it to LAYERS in {__file__}")


def _part(module: str) -> str | None:
    """`app.sites.services` -> "sites"; None for what is not the app's."""
    parts = module.split(".")
    if parts[0] != "app":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every app module a file imports, at any depth (lazy imports inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                found += [(node.lineno, f"app.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def _module_files() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "translations" not in p.parts)


@pytest.mark.parametrize("path", _module_files(), ids=lambda p: str(p.relative_to(APP)))
def test_no_module_imports_a_layer_above_its_own(path):
    relative = path.relative_to(APP)
    own = relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem
    is_policy = relative == Path("auth/policy.py")
    for line, module in _imports(path):
        target = _part(module)
        if target is None or target == own:
            continue
        if is_policy and module.endswith(".models"):
            continue
        assert _layer(target) >= _layer(own), (
            f"app/{relative}:{line} imports {module}, which is above {own}: "
            "move the code that needs it up, or let the upper layer register with this one"
        )


def test_the_layers_name_every_part_of_the_app():
    parts = {p.stem if p.is_file() else p.name for p in APP.iterdir()}
    parts = {p for p in parts if p not in ("translations", "__pycache__")}
    named = set().union(*LAYERS)
    assert parts <= named, f"put {parts - named} in a layer"
