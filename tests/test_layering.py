"""Layering: which parts of ``studio`` may import which, read from the source (``ast``).

The rules, lowest layer first:

- ``studio.errors`` imports nothing from ``studio``; ``studio.rules`` (the Django-free
  rules the SDK, CLI and server share) imports only ``studio.errors`` and itself.
- ``studio.sdk`` and ``studio.cli`` import without Django. At module level the SDK imports
  only ``errors``, ``rules``, ``core.env``, ``bootstrap`` and itself. The local store
  (``studio/sdk/stores/local.py``, and only it) calls the domain in-process: it imports
  ``studio.tracking`` and ``studio.execution`` inside its methods, after ``setup_django()``.
- ``studio.execution`` never imports ``studio.sdk``; ``studio.core`` never imports
  ``studio.tracking``.
- Between top-level packages, every import (module level or inside a function) follows
  ``ALLOWED``, a graph without cycles; inside ``sdk``, ``cli``, ``rules`` and ``errors``
  modules import each other one way too (run <- experiment <- workspace).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

STUDIO = Path(__file__).resolve().parent.parent / "studio"

# Package -> the packages it may import. Project glue (settings, urls, wsgi, asgi,
# __main__) sits on top; nothing imports it.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "rules": {"errors"},
    "bootstrap": set(),
    "core": {"errors", "rules"},
    "tracking": {"errors", "rules", "core"},
    "registry": {"errors", "rules", "core", "tracking"},
    "audit": {"errors", "rules", "core", "tracking"},
    "accounts": {"errors", "rules", "core", "tracking", "registry", "audit"},
    # A job's AZUREML_* environment and run token; the local store's compat endpoint.
    "execution": {"errors", "rules", "core", "bootstrap", "tracking", "accounts", "compat"},
    "api": {"errors", "rules", "core", "tracking", "accounts", "execution", "registry"},
    "web": {"errors", "rules", "core", "tracking", "accounts", "execution", "registry", "audit"},
    # Other clients' wire protocols (issue 12: azureml-core, mlflow): the access
    # helpers (tokens, throttling), core's upload reading, the tracking services.
    "compat": {"errors", "rules", "core", "tracking", "accounts"},
    "sdk": {"errors", "rules", "core", "bootstrap", "tracking", "execution", "registry"},
    # `studio worker` runs the execution worker in-process; everything else goes
    # through the SDK.
    "cli": {"errors", "rules", "core", "bootstrap", "sdk", "execution"},
    "settings": {"core"},
    "urls": {
        "api",
        "accounts",
        "web",
        "compat",
    },  # accounts.routes: the login pages are declared public
    "wsgi": set(),
    "asgi": {"core"},  # the bridge to the WSGI handler (core.wsgi_bridge)
    "__main__": {"cli"},
}
SDK_MODULE_LEVEL = {"studio.errors", "studio.rules", "studio.core.env", "studio.bootstrap"}
LOCAL_STORE = "studio.sdk.stores.local"
SERVER_SIDE = ("tracking", "web", "api", "accounts", "execution", "registry", "compat")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(STUDIO.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(STUDIO.rglob("*.py")) if "migrations" not in p.parts}


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[str, bool]]:
    """(imported studio module, at module level?) for every import in the file; imports
    under ``if TYPE_CHECKING:`` are for type checkers only and do not count."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def walk(node: ast.AST, top: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from walk(child, False)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, top
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parent + ([child.module] if child.module else []))
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    yield (sub if sub in MODULES else base), top
            yield from walk(child, top)

    for target, top in walk(ast.parse(path.read_text()), True):
        if target == "studio" or target.startswith("studio."):
            yield target, top


EDGES = [(m, target, top) for m, p in MODULES.items() for target, top in _imports(m, p)]


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` (as the list of its nodes), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_sdk_the_rules_and_the_cli_import_without_django():
    code = (
        "import pkgutil, sys, importlib\n"
        "import studio.sdk, studio.errors, studio.cli.main, studio.rules\n"
        "import studio.sdk.stores.rest, studio.sdk.stores.local\n"
        "for info in pkgutil.iter_modules(studio.rules.__path__):\n"
        "    importlib.import_module('studio.rules.' + info.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
        "print(len([m for m in sys.modules if m.startswith('studio.rules.')]))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(STUDIO.parent)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "[]"
    assert int(out[1]) >= 6  # validation, jsoncodec, filenames, transitions, graph, metricdata


def test_rules_and_errors_import_only_each_other():
    bad = [
        (m, t)
        for m, t, _ in EDGES
        if _package(m) in ("rules", "errors") and _package(t) not in ("rules", "errors")
    ]
    assert bad == []
    assert [(m, t) for m, t, _ in EDGES if _package(m) == "errors"] == []


def test_the_sdk_imports_no_server_package_at_module_level():
    bad = [
        (m, t)
        for m, t, top in EDGES
        if _package(m) == "sdk"
        and top
        and _package(t) != "sdk"
        and not any(t == ok or t.startswith(ok + ".") for ok in SDK_MODULE_LEVEL)
    ]
    assert bad == []


def test_only_the_local_store_reaches_the_server_packages_from_the_sdk():
    reaching = {m for m, t, _ in EDGES if _package(m) == "sdk" and _package(t) in SERVER_SIDE}
    assert reaching == {LOCAL_STORE}


def test_execution_never_imports_the_sdk_and_core_never_imports_tracking():
    assert [
        (m, t) for m, t, _ in EDGES if _package(m) == "execution" and _package(t) == "sdk"
    ] == []
    assert [
        (m, t) for m, t, _ in EDGES if _package(m) == "core" and _package(t) == "tracking"
    ] == []


def test_packages_import_each_other_only_along_the_allowed_edges():
    assert _cycle(ALLOWED) is None
    assert set(ALLOWED) >= {_package(m) for m in MODULES if m != "studio"}
    extra = sorted(
        {
            (_package(m), _package(t), m)
            for m, t, _ in EDGES
            if _package(m) != _package(t)
            and _package(t) not in ALLOWED.get(_package(m), ())
            and t != "studio"
        }
    )
    assert extra == []


def test_the_sdk_cli_rules_and_errors_modules_import_one_way():
    layer = {"sdk", "cli", "rules", "errors"}
    graph: dict[str, set[str]] = {}
    for m, t, _ in EDGES:
        if _package(m) in layer and _package(t) in layer and m != t:
            # A package imports its own submodules to re-export them; that is not a cycle.
            if t.startswith(m + ".") and MODULES[m].name == "__init__.py":
                continue
            graph.setdefault(m, set()).add(t)
    assert _cycle(graph) is None


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
