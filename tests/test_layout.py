"""The project's layout, read with ast: no import cycle, no private name across modules, each room's imports kept."""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPS = ("dashboard", "pages", "queries", "auth")  # the layout checker's; queries/migrations is left out, as there


@dataclass(frozen=True)
class Import:
    """One name an import statement brings in: `import module` (name None) or `from module import name`."""

    source: str
    module: str
    name: str | None
    line: int

    @property
    def target(self) -> str:
        return f"{self.module}.{self.name}" if self.name else self.module

    def reaches(self, package: str) -> bool:
        """Whether this import names `package`, or a module or name inside it."""
        return inside(self.module, package) or inside(self.target, package)

    def __str__(self) -> str:
        return f"{self.source} (line {self.line}) imports {self.target}"


def inside(name: str, package: str) -> bool:
    """Whether the dotted `name` is `package` or lies within it."""
    return name == package or name.startswith(package + ".")


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """The project's modules by dotted name (pages/ counts as a package, as for the layout checker)."""
    modules = {}
    for top in TOPS:
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" not in parts:
                modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports(root: Path = ROOT) -> list[Import]:
    """Every import of every project module, inside functions too, relative ones made absolute."""
    found = []
    for source, path in project_modules(root).items():
        package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found += [Import(source, alias.name, None, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                found += [Import(source, module, alias.name, node.lineno) for alias in node.names]
    return found


def import_graph(root: Path = ROOT) -> dict[str, dict[str, Import]]:
    """For each project module, the project modules it imports and the import that does it."""
    modules = project_modules(root)
    graph: dict[str, dict[str, Import]] = {module: {} for module in modules}
    for found in imports(root):
        # `from X import Y` imports X, and X.Y too when X.Y is a module; `import X.Y` imports X.Y.
        for target in (found.module, found.target):
            if target in modules and target != found.source:
                graph[found.source].setdefault(target, found)
    return graph


def shortest_path(graph: dict[str, dict[str, Import]], start: str, goals: Iterable[str]) -> list[str] | None:
    """The shortest chain of modules from `start` to one of `goals` (start itself not counted as reached), or None."""
    goals, seen, queue = set(goals), {start}, deque([[start]])
    while queue:
        chain = queue.popleft()
        for target in sorted(graph[chain[-1]]):
            if target in goals:
                return chain + [target]
            if target not in seen:
                seen.add(target)
                queue.append(chain + [target])
    return None


def spelled(graph: dict[str, dict[str, Import]], chain: list[str]) -> str:
    """A chain of modules with the line of each import: `a (line 3) -> b (line 9) -> c`."""
    steps = [f"{module} (line {graph[module][after].line})" for module, after in zip(chain, chain[1:])]
    return " -> ".join(steps + [chain[-1]])


def test_no_import_cycle():
    """No project module imports, through others or inside a function, a module that imports it back."""
    graph = import_graph()
    cycles, seen = [], set()
    for module in sorted(graph):
        if module not in seen and (chain := shortest_path(graph, module, [module])):
            seen.update(chain)
            cycles.append(spelled(graph, chain))
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles)


def test_no_private_name_imported_from_another_module():
    """`from module import _name` is refused between project modules: what another module needs is public."""
    modules = project_modules()
    wrong = [
        str(found) for found in imports()
        if found.name and found.name.startswith("_") and not found.name.startswith("__")
        and found.module in modules and found.module != found.source
    ]
    assert not wrong, "private names imported from another module:\n  " + "\n  ".join(wrong)


def test_commands_imported_only_by_the_command_line():
    """Only dashboard/__main__.py and dashboard.commands itself import dashboard.commands (tests may too)."""
    wrong = [
        str(found) for found in imports()
        if found.reaches("dashboard.commands")
        and found.source != "dashboard.__main__" and not inside(found.source, "dashboard.commands")
    ]
    assert not wrong, "dashboard.commands imported outside the command line:\n  " + "\n  ".join(wrong)


def test_queries_know_nothing_of_the_web():
    """queries/ imports neither Streamlit nor dashboard.web, dashboard.render or pages: it computes, they show."""
    forbidden = ("streamlit", "dashboard.web", "dashboard.render", "pages")
    wrong = [
        str(found) for found in imports()
        if inside(found.source, "queries") and any(found.reaches(package) for package in forbidden)
    ]
    assert not wrong, "queries/ imports the web side:\n  " + "\n  ".join(wrong)


def test_render_is_pure():
    """dashboard/render/ imports no Streamlit, neither itself nor through another project module."""
    graph, found = import_graph(), imports()
    with_streamlit = {each.source: each for each in found if each.reaches("streamlit")}
    wrong = []
    for module in sorted(graph):
        if not inside(module, "dashboard.render"):
            continue
        if module in with_streamlit:
            wrong.append(str(with_streamlit[module]))
        elif chain := shortest_path(graph, module, with_streamlit):
            wrong.append(f"{spelled(graph, chain)}, which imports {with_streamlit[chain[-1]].target}")
    assert not wrong, "dashboard/render/ reaches Streamlit:\n  " + "\n  ".join(wrong)


def test_ingest_never_prints():
    """dashboard/ingest/ returns reports: no print(), no sys.stdout or sys.stderr (the commands print)."""
    wrong = []
    for module, path in project_modules().items():
        if not inside(module, "dashboard.ingest"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            printing = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
            stream = (isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
                      and isinstance(node.value, ast.Name) and node.value.id == "sys")
            if printing or stream:
                wrong.append(f"{module} (line {node.lineno})")
    assert not wrong, "dashboard/ingest/ prints:\n  " + "\n  ".join(wrong)
