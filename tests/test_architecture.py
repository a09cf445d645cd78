"""The tree keeps its shape: no runtime import cycle, and imports only go down the layers.

Read from the source (AST), so it checks what will run: imports under `if TYPE_CHECKING:` are
type-only and free; imports inside functions count like any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.paths import ROOT

SOURCES = ("config.py", "run_bot.py", "common", "storage", "ocr", "chat", "dialogs", "nlu", "handlers", "bot",
           "simulator")

# Lowest first. A module may import its own layer or lower ones; packages of a layer marked
# independent may not import each other.
LAYERS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("config", "common"), True),          # settings and pure helpers: anyone may read them
    (("storage", "ocr"), True),            # SQL and invoice reading: nothing of the app
    (("chat",), False),                    # the framework handlers and dialogs share
    (("dialogs",), False),                 # the conversation engine
    (("nlu",), False),                     # understanding free text
    (("handlers",), False),                # capabilities
    (("bot.ops.metrics", "bot.ops.logs", "bot.runtime"), False),  # inbox, dispatch, worker, timers
    (("bot.wecom",), False),               # the WeCom edge
    (("bot.parts",), False),               # the running bot as plugins see it
    (("bot.finance", "bot.h5"), True),     # plugins
    (("bot.core",), False),                # the composition root
    (("bot.ops",), False),                 # serving and the command line
    (("simulator",), False),               # the WeCom stand-in and the demo runner
    (("run_bot",), False),                 # the entry point
)
# Beyond the layers: what a package may import of the project at all.
ONLY = {
    "config": (),
    "common": ("common",),
    "storage": ("storage", "common"),
    "ocr": ("ocr", "common"),
    "nlu": ("nlu", "dialogs"),
}
# The stand-in for WeCom never reaches into the bot; only the demo runner assembles both.
SIMULATOR_MAY_IMPORT_BOT = ("simulator.demo_runner",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for source in SOURCES:
        path = ROOT / source
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            found[module_name(file)] = file
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules `name` imports at run time (a submodule when one is named, else the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def packages(graph: dict[str, set[str]]) -> set[str]:
    return {name for name in graph if any(other.startswith(name + ".") for other in graph)}


def with_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Importing a.b.c first runs a and a.b: add those edges (a package's own facade imports aside)."""
    full = {name: set(targets) for name, targets in graph.items()}
    for name in graph:
        parts = name.split(".")
        full[name] |= {".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in graph}
    for package in packages(graph):
        full[package] = {t for t in full[package] if not t.startswith(package + ".")}
    return full


def layer_of(name: str) -> tuple[int, str]:
    best = (-1, "", "")
    for rank, (prefixes, _) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > len(best[2]):
                best = (rank, prefix, prefix)
    assert best[0] >= 0, f"{name} belongs to no layer: add it to LAYERS"
    return best[0], best[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for package in sorted(packages(graph)):  # a package's __init__ is a facade over its own modules
        bad += [f"{package} (a package) imports {t}" for t in sorted(graph[package]) if not t.startswith(package + ".")]
    for importer, targets in sorted(graph.items()):
        if not targets:
            continue
        rank, group = layer_of(importer)
        top = importer.split(".")[0]
        for target in sorted(targets):
            target_rank, target_group = layer_of(target)
            if target_rank > rank:
                bad.append(f"{importer} imports {target}, a higher layer")
            elif target_rank == rank and group != target_group and LAYERS[rank][1]:
                bad.append(f"{importer} imports {target}: {group} and {target_group} stay independent")
            if top in ONLY and target.split(".")[0] not in ONLY[top]:
                bad.append(f"{importer} imports {target}: {top} imports nothing of the app")
            if top == "simulator" and target.split(".")[0] != "simulator" and target_rank > 1 \
                    and importer not in SIMULATOR_MAY_IMPORT_BOT:
                bad.append(f"{importer} imports {target}: the simulator stands apart from the bot")
    return bad


def test_no_import_cycles() -> None:
    assert cycles(with_packages(import_graph())) == []


def test_imports_go_down_the_layers() -> None:
    assert violations(import_graph()) == []


def test_the_check_catches_a_cycle_and_an_upward_import() -> None:
    graph = {"chat.router": {"dialogs.engine"}, "dialogs.engine": {"chat.router"}, "storage.db": {"bot.core"},
             "bot.core": set(), "handlers": {"handlers.status", "dialogs.engine"}, "handlers.status": set(),
             "handlers.roles": set()}
    assert cycles(with_packages(graph)) == [["chat.router", "dialogs.engine"]]
    graph["handlers.status"] = {"handlers.roles"}  # a package re-exporting its own modules is a facade, not a cycle
    graph["handlers"] = {"handlers.status"}
    assert cycles(with_packages(graph)) == [["chat.router", "dialogs.engine"]]
    graph["handlers"] = {"handlers.status", "dialogs.engine"}
    assert set(violations(graph)) == {
        "chat.router imports dialogs.engine, a higher layer",
        "storage.db imports bot.core, a higher layer",
        "storage.db imports bot.core: storage imports nothing of the app",
        "handlers (a package) imports dialogs.engine",
    }


def test_type_only_imports_are_free(tmp_path: Path) -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.core import x\nimport storage.db\n"
    file = ROOT / "storage" / "db.py"
    modules = {"bot.core": file, "storage.db": file, "chat.x": file}
    (tmp_path / "x.py").write_text(source)
    assert imports_of("chat.x", tmp_path / "x.py", modules) == {"storage.db"}
