"""
The layout's rules, read from the source as a newcomer reads it.

- No import circles between the project's modules.
- ``ropa.core`` is the bottom layer: it imports no app and nothing else of
  ``ropa``; ``controllers`` and ``subjects`` build on it alone, never on the
  register's exchange, review or admin code.
- No module passes ~800 lines, except data.

Imports are read from the syntax tree, those inside functions too, so an
import deferred to dodge a circle still counts as one.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("ropa", "controllers", "subjects")
MAX_LINES = 800
#: Modules that are data, not code: allowed past MAX_LINES.
DATA_MODULES = {"ropa.sample.data"}


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(name):
    """The project module an import of ``name`` loads (a name inside it too)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module, path):
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target and target != module:
                targets.add(target)
    return targets


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _without_facades(graph):
    """
    The graph without a package's import of its own modules.

    A package's ``__init__`` that re-exports its modules' names imports them;
    a module of the package importing a sibling is not a circle through it.
    """
    return {
        module: {
            target
            for target in targets
            if not (MODULES[module].name == "__init__.py" and target.startswith(module))
        }
        for module, targets in graph.items()
    }


def test_the_project_has_modules_to_check():
    assert "ropa.core.versioning" in MODULES
    assert "ropa.exchange.imports" in GRAPH


def test_no_import_circles():
    assert _cycles(_without_facades(GRAPH)) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        ("ropa.core", ("ropa.core",)),
        ("controllers", ("ropa.core", "controllers", "subjects")),
        ("subjects", ("ropa.core", "subjects")),
    ],
)
def test_lower_layers_import_only_what_is_below_them(layer, allowed):
    reaching_up = {
        module: sorted(
            target
            for target in GRAPH[module]
            if not any(target == a or target.startswith(f"{a}.") for a in allowed)
        )
        for module in GRAPH
        if module == layer or module.startswith(f"{layer}.")
    }
    assert {module: targets for module, targets in reaching_up.items() if targets} == {}


def test_no_module_passes_the_line_limit_except_data():
    # The load script's modules (bench/) too, though no app imports them.
    scripts = {_module_name(path): path for path in (ROOT / "bench").glob("*.py")}
    too_long = {
        module: count
        for module, path in {**MODULES, **scripts}.items()
        if module not in DATA_MODULES
        and (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert len(scripts) >= 4
    assert too_long == {}
