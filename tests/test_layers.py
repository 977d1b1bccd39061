"""The engine's imports run one way: no module of analytics/ imports from a layer above its own.

The order (the README's "Layout" section states it in words; keep the two alike):

1. foundation: the store, the program (rules, regional programs, product catalogue), access, filters,
   formatting, labels, frames, spreadsheet-safe cells, saved views
2. ingest and the model
3. the review
4. the analyses
5. on top: charts, exports, the board pack, demo data, the command line and the server

Every import counts, also one inside a function or under `if TYPE_CHECKING:`: a module that needs
something from above is in the wrong place, however late it imports it. Besides the direction, no two
modules import each other, directly or round a loop (imports under TYPE_CHECKING aside: they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "analytics"

# Layer by module or package, lowest first; a module takes the layer of the longest name it starts with.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", (
        "analytics.store", "analytics.program", "analytics.access", "analytics.filters", "analytics.formatting",
        "analytics.labels", "analytics.frames", "analytics.cells", "analytics.periods", "analytics.paths",
        "analytics.saved_views",
    )),
    ("ingest and model", ("analytics.ingest", "analytics.model")),
    ("review", ("analytics.review",)),
    ("analyses", ("analytics.analyses",)),
    ("top", (
        "analytics.charts", "analytics.export", "analytics.brief", "analytics.demo", "analytics.cli",
        "analytics.serve", "analytics.__main__",
    )),
)

# Cycles known and left to a module's owner, each with why it is still there: none today.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()


def layer_of(module: str) -> tuple[int, str]:
    """Give the rank and name of a module's layer; KeyError naming the module when the table has none for it."""
    if module == "analytics":  # the package's own __init__: a docstring, importing nothing
        return 0, LAYERS[0][0]
    best: tuple[int, int, str] | None = None
    for rank, (name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank, name)
    if best is None:
        raise KeyError(f"{module} has no layer in tests/test_layers.py LAYERS: add it to one")
    return best[1], best[2]


def module_name(path: Path, root: Path) -> str:
    """Give the dotted name of a module file under `root` (a package's __init__ is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Give the line numbers inside `if TYPE_CHECKING:` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path, root: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """Give (imported module, line, runs) for every import in a file, at any depth; `runs` is False under
    TYPE_CHECKING. `from package import module` names the module when `known` holds it."""
    module = module_name(path, root)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    checking = _type_checking_lines(tree)
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, node.lineno not in checking) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.append((submodule if submodule in known else source, node.lineno, node.lineno not in checking))
    return sorted(found, key=lambda item: item[1])


def engine_imports(root: Path) -> dict[str, list[tuple[str, int, bool]]]:
    """Give every module under root/analytics with its imports."""
    files = sorted((root / "analytics").rglob("*.py"))
    known = {module_name(f, root) for f in files}
    return {module_name(f, root): imports_of(f, root, known) for f in files}


def upward_imports(root: Path) -> list[str]:
    """Give one sentence per import that points to a higher layer than its module's."""
    problems = []
    for module, imports in engine_imports(root).items():
        rank, layer = layer_of(module)
        for target, line, _runs in imports:
            if target != "analytics" and not target.startswith("analytics."):
                continue
            target_rank, target_layer = layer_of(target)
            if target_rank > rank:
                problems.append(f"{module} (layer {layer}) imports {target} (layer {target_layer}), line {line}")
    return problems


def import_cycles(root: Path) -> list[list[str]]:
    """Give the groups of modules that import each other at run time, round a loop (strongly connected)."""
    imports_by_module = engine_imports(root)
    graph = {
        module: {t for t, _line, runs in imports if runs and t in imports_by_module}
        for module, imports in imports_by_module.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graph is small, recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_engine_module_has_a_layer():
    missing = []
    for module in engine_imports(ROOT):
        try:
            layer_of(module)
        except KeyError as exc:
            missing.append(str(exc))
    assert missing == []


def test_no_engine_module_imports_from_a_layer_above_its_own():
    assert upward_imports(ROOT) == []


def test_no_engine_modules_import_each_other_round_a_loop():
    cycles = [group for group in import_cycles(ROOT) if frozenset(group) not in KNOWN_CYCLES]
    assert cycles == []


def test_the_engine_never_imports_streamlit_or_the_pages():
    problems = [
        f"{module} imports {target}, line {line}"
        for module, imports in engine_imports(ROOT).items()
        for target, line, _runs in imports
        if target.split(".")[0] in {"streamlit", "views"}
    ]
    assert problems == []


def _tree_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """Give a small copy of a project: analytics/ packages with the given module texts."""
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(tmp_path).parents:
            if str(folder) != ".":
                (tmp_path / folder / "__init__.py").touch()
        path.write_text(text)
    return tmp_path


def test_an_upward_import_inside_a_function_is_named_with_both_layers(tmp_path: Path):
    root = _tree_with(tmp_path, {
        "analytics/store/quarters.py": "def f():\n    from analytics.review.decisions import ACTIONS\n",
        "analytics/review/decisions.py": "from analytics.store import quarters\nACTIONS = ()\n",
    })
    assert upward_imports(root) == [
        "analytics.store.quarters (layer foundation) imports analytics.review.decisions (layer review), line 2"
    ]


def test_a_relative_and_a_type_checking_import_upward_count_too(tmp_path: Path):
    root = _tree_with(tmp_path, {
        "analytics/model/fit.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from analytics.analyses.queries import X\n"
            "from ..review import decisions\n"
        ),
        "analytics/analyses/queries.py": "X = 1\n",
        "analytics/review/decisions.py": "",
    })
    assert upward_imports(root) == [
        "analytics.model.fit (layer ingest and model) imports analytics.analyses.queries (layer analyses), line 3",
        "analytics.model.fit (layer ingest and model) imports analytics.review.decisions (layer review), line 4",
    ]


def test_a_loop_of_imports_is_found_but_not_one_under_type_checking(tmp_path: Path):
    root = _tree_with(tmp_path, {
        "analytics/store/a.py": "from analytics.store import b\n",
        "analytics/store/b.py": "def f():\n    import analytics.store.a\n",
        "analytics/store/c.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from analytics.store.a import A\n"
        ),
    })
    (root / "analytics/store/a.py").write_text("from analytics.store import b\nfrom analytics.store import c\n")
    assert import_cycles(root) == [["analytics.store.a", "analytics.store.b"]]


def test_a_module_outside_the_table_is_named():
    with pytest.raises(KeyError, match="analytics.newthing has no layer"):
        layer_of("analytics.newthing")
