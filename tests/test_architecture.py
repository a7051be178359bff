"""The house rules of ARCHITECTURE.md, checked on the source: layers import only downwards, and nothing cycles.

- geo/ never imports app, fastapi, starlette, sqlalchemy, geoalchemy2 or psycopg (it runs in a notebook);
- routers and the command line call services and shared request types only: no app.db, no geo;
- no two modules import each other, directly or through others, when they are loaded.

Each rule is one `check_*` function over a list of imports. The project's tests feed it the imports of app/ and
geo/; test_the_contract_catches_a_bad_import feeds the very same functions a deliberately bad import.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "geo")
GEO_FORBIDDEN = ("app", "fastapi", "starlette", "sqlalchemy", "geoalchemy2", "psycopg")
THIN_LAYERS = ("app.routers", "app.cli")
BELOW_THIN_LAYERS = ("app.db", "geo")


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, on which line, and whether it runs when the module loads."""

    module: str
    target: str
    line: int
    at_load: bool


def within(name: str, prefixes: Iterable[str]) -> bool:
    """Whether the dotted `name` is one of `prefixes` or inside one of them."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every import in the Python `source` of `module`; those in functions or `if TYPE_CHECKING` are not at load."""

    def visit(node: ast.AST, at_load: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(module, alias.name, child.lineno, at_load)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    # "from pkg import name" imports the submodule pkg.name when there is one.
                    yield Import(module, f"{base}.{alias.name}", child.lineno, at_load)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or (
                isinstance(child, ast.If) and _is_type_checking(child)
            ):
                yield from visit(child, False)
            else:
                yield from visit(child, at_load)

    return list(visit(ast.parse(source), True))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_files() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "vendor" not in path.parts
    ]


def project_modules() -> set[str]:
    """The dotted names of every module of app/ and geo/."""
    return {_module_name(path) for path in _project_files()}


def project_imports() -> list[Import]:
    """Every import of every module of app/ and geo/."""
    found: list[Import] = []
    for path in _project_files():
        source = path.read_text(encoding="utf-8")
        found.extend(imports_of(source, _module_name(path), is_package=path.name == "__init__.py"))
    return found


def _resolve(target: str, modules: set[str]) -> str | None:
    """The project module an import target names (the longest known prefix), or None for outside code."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def check_geo_is_pure(imports: list[Import]) -> None:
    """geo/ imports nothing of the app, the web framework or the database, not even inside a function."""
    bad = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in imports
        if within(i.module, ("geo",)) and within(i.target, GEO_FORBIDDEN)
    ]
    assert bad == [], "geo/ must stay free of app, web and database imports:\n" + "\n".join(bad)


def check_thin_layers(imports: list[Import]) -> None:
    """Routers and CLI modules import nothing of app.db or geo/, at load, in a function or for type checking."""
    bad = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in imports
        if within(i.module, THIN_LAYERS) and within(i.target, BELOW_THIN_LAYERS)
    ]
    assert bad == [], "routers and CLI modules must call services, not app.db or geo:\n" + "\n".join(bad)


def check_no_import_cycle(imports: list[Import], modules: set[str]) -> None:
    """No modules of `modules` import each other, directly or round a longer loop, when they are loaded."""
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for i in imports:
        target = _resolve(i.target, modules)
        # A package's __init__ importing its own submodules is how packages are built, not a cycle.
        if i.at_load and target and target != i.module and not target.startswith(i.module + "."):
            graph.add_edge(i.module, target)
    cycles = sorted(
        sorted(component) for component in nx.strongly_connected_components(graph) if len(component) > 1
    )
    assert cycles == [], f"modules that import each other when loaded: {cycles}"


def test_geo_imports_nothing_of_the_web_or_the_database() -> None:
    check_geo_is_pure(project_imports())


def test_routers_and_the_command_line_use_services_only() -> None:
    check_thin_layers(project_imports())


def test_no_module_import_cycle() -> None:
    check_no_import_cycle(project_imports(), project_modules())


def _check_cycle(imports: list[Import]) -> None:
    check_no_import_cycle(imports, project_modules() | {i.module for i in imports})


CYCLE = [
    *imports_of("from app.services import cycle_b\n", "app.services.cycle_a"),
    *imports_of("from app.services.cycle_a import helper\n", "app.services.cycle_b"),
]


@pytest.mark.parametrize(
    ("check", "imports", "message"),
    [
        (
            check_geo_is_pure,
            imports_of("import sqlalchemy\n", "geo.example"),
            "geo.example:1 imports sqlalchemy",
        ),
        (
            check_geo_is_pure,
            imports_of("def f():\n    from fastapi import Request\n", "geo.io.example"),
            "geo.io.example:2 imports fastapi.Request",
        ),
        (
            check_thin_layers,
            imports_of("from app.db import models\n", "app.routers.example"),
            "app.routers.example:1 imports app.db.models",
        ),
        (
            check_thin_layers,
            imports_of("from ..db.models import User\n", "app.routers.example"),
            "app.routers.example:1 imports app.db.models.User",
        ),
        (
            check_thin_layers,
            imports_of("if TYPE_CHECKING:\n    import geo.render\n", "app.cli.example"),
            "app.cli.example:2 imports geo.render",
        ),
        (_check_cycle, CYCLE, "['app.services.cycle_a', 'app.services.cycle_b']"),
    ],
    ids=[
        "geo-sqlalchemy",
        "geo-fastapi-in-function",
        "router-db",
        "router-relative-db",
        "cli-type-geo",
        "cycle",
    ],
)
def test_the_contract_catches_a_bad_import(
    check: Callable[[list[Import]], None], imports: list[Import], message: str
) -> None:
    with pytest.raises(AssertionError, match=re.escape(message)):
        check(imports)


@pytest.mark.parametrize(
    ("check", "imports"),
    [
        (check_geo_is_pure, imports_of("import numpy\nfrom geo.crs import measuring_crs\n", "geo.example")),
        (check_thin_layers, imports_of("from app.services import analysis\n", "app.routers.example")),
        (check_thin_layers, imports_of("from app.db import models\n", "app.services.example")),
        (
            _check_cycle,
            [
                *imports_of("from app.services import cycle_b\n", "app.services.cycle_a"),
                *imports_of(
                    "if TYPE_CHECKING:\n    from app.services import cycle_a\n", "app.services.cycle_b"
                ),
            ],
        ),
    ],
    ids=["geo-numpy", "router-service", "service-db", "type-only-back-edge"],
)
def test_the_contract_lets_a_good_import_through(
    check: Callable[[list[Import]], None], imports: list[Import]
) -> None:
    check(imports)
