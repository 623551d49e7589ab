"""The layout docs/architecture.md describes: one package, small modules, no cycles, layers.

Imports are read from the source with `ast` (function-local imports included, `if
TYPE_CHECKING:` blocks left out: they never run), so these checks cost no imports.
"""

from __future__ import annotations

import ast
import tomllib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400
OLD_TOP_LEVEL = {"agent", "tools", "prompts", "evals", "sandbox"}

# (importer prefix, imported prefix, why it is not allowed); a prefix matches the module
# itself and everything under it. docs/architecture.md shows the same table.
FORBIDDEN = [
    ("opsloop.tools", "opsloop.agent", "tools know nothing of the assistant"),
    ("opsloop.tools", "opsloop.sandbox", "tools work on any world, not the demo's"),
    ("opsloop.tools", "opsloop.evals", "tools are measured by evals, never the reverse"),
    ("opsloop.tools.analysis", "opsloop.tools.backends", "analysis is pure: data in, data out"),
    ("opsloop.tools.analysis", "opsloop.tools.toolsets", "analysis is pure: data in, data out"),
    ("opsloop.tools.backends", "opsloop.tools.toolsets", "clients do not call the model's tools"),
    ("opsloop.agent.graph", "opsloop.agent.cli", "the graph serves every interface"),
    ("opsloop.agent.graph", "opsloop.agent.slack", "the graph serves every interface"),
    ("opsloop.agent.graph", "opsloop.agent.server", "the graph serves every interface"),
    ("opsloop.agent.rca", "opsloop.agent.cli", "the alert path serves every interface"),
    ("opsloop.agent.rca", "opsloop.agent.slack", "the alert path serves every interface"),
    ("opsloop.agent.rca", "opsloop.agent.server", "the alert path serves every interface"),
    ("opsloop.agent.llm", "opsloop.agent.graph", "the graph uses the LLM helpers, not back"),
    ("opsloop.agent.planner", "opsloop.agent.graph", "the planner is a pure brain"),
    ("opsloop.agent.grounding", "opsloop.agent.graph", "checks take data, not the graph"),
    ("opsloop.agent.stores", "opsloop.agent.graph", "stores hold data for any caller"),
    ("opsloop.agent.db", "opsloop.agent.graph", "plumbing knows no callers"),
    ("opsloop.agent.server", "opsloop.agent.cli", "the CLI starts the server, not back"),
    ("opsloop.agent.slack", "opsloop.agent.cli", "Slack and the CLI are siblings"),
]
# Only the graph's wiring may reach into the alert path: the question path stays readable alone.
WIRING = {"opsloop.agent.graph.build"}


@cache
def package_dirs() -> dict[str, Path]:
    """Return the build's package → folder mapping (pyproject's package-dir)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {name: ROOT / folder for name, folder in config["package-dir"].items()}


@cache
def modules() -> dict[str, Path]:
    """Return every module of the opsloop package, by dotted name."""
    out = {}
    for package, folder in package_dirs().items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join([package, *parts])
            out[name.removesuffix(".__init__")] = path
    return out


def _runtime_nodes(tree: ast.AST):
    """Yield the nodes of `tree`, skipping `if TYPE_CHECKING:` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for orelse in node.orelse for n in [orelse, *_runtime_nodes(orelse)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _resolve(name: str) -> str | None:
    """Return the module `name` names (a module, or an attribute of one)."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


@cache
def imports(module: str) -> frozenset[str]:
    """Return the opsloop modules `module` imports at run time."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]).strip(".")
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            target = _resolve(name) if name.startswith("opsloop") else None
            if target and target != module:
                found.add(target)
    return frozenset(found)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_every_package_folder_is_listed_for_the_build():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert sorted(folders) == sorted(config["packages"])


def test_no_module_is_longer_than_one_sitting():
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by concern: {long}"


def test_nothing_imports_the_old_generic_top_level_names():
    offenders = []
    for folder in [*package_dirs().values(), ROOT / "tests", ROOT / "bench"]:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    roots = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    roots = [node.module.split(".")[0]]
                else:
                    continue
                if OLD_TOP_LEVEL & set(roots):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


def test_there_is_no_import_cycle():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(name: str) -> None:  # Tarjan's strongly connected components
        index[name] = low[name] = len(index)
        stack.append(name)
        for dep in imports(name):
            if dep not in index:
                visit(dep)
                low[name] = min(low[name], low[dep])
            elif dep in stack:
                low[name] = min(low[name], index[dep])
        if low[name] == index[name]:
            component = []
            while (top := stack.pop()) != name:
                component.append(top)
            if component:
                cycles.append(sorted([name, *component]))

    for name in modules():
        if name not in index:
            visit(name)
    assert not cycles


@pytest.mark.parametrize(("importer", "imported", "why"), FORBIDDEN)
def test_layers_import_only_downwards(importer, imported, why):
    wrong = sorted(
        f"{name} → {dep}"
        for name in modules()
        if _under(name, importer)
        for dep in imports(name)
        if _under(dep, imported)
    )
    assert not wrong, why


def test_only_the_graph_wiring_reaches_into_the_alert_path():
    wrong = sorted(
        f"{name} → {dep}"
        for name in modules()
        if _under(name, "opsloop.agent.graph") and name not in WIRING
        for dep in imports(name)
        if _under(dep, "opsloop.agent.rca")
    )
    assert not wrong


def test_the_alert_path_is_a_subgraph_with_named_steps(tmp_path):
    from opsloop.agent.graph.build import build_graph
    from opsloop.agent.graph.deps import Deps
    from opsloop.agent.rca.graph import NAME
    from opsloop.agent.stores.answers import AnswerStore

    deps = Deps(
        settings=None,  # type: ignore[arg-type]  # building the graph reads no setting
        tools={},
        catalog=None,  # type: ignore[arg-type]
        answers=AnswerStore(tmp_path / "answers.sqlite"),
        audit=None,  # type: ignore[arg-type]
    )
    graph = build_graph(deps)
    main = graph.get_graph().nodes
    assert NAME in main and not {"scope", "gather", "rank", "report"} & set(main)
    (_, alert_path), *_ = graph.get_subgraphs()
    steps = set(alert_path.get_graph().nodes)
    assert {"scope", "gather", "rank", "followup", "report", "propose"} <= steps
    assert {"request", "approval", "act", "check", "remember"} <= steps
    # No hidden state machine: the alert path's progress is its position in the graph.
    for path in (ROOT / "agent").rglob("*.py"):
        assert '"stage"' not in path.read_text(), path
