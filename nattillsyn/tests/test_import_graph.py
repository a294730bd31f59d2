"""Dependencies point one way: no module imports one of a higher layer (docs/ARCHITECTURE.md).

Every module of the project is parsed with ``ast``, imports inside functions included,
and placed in a layer by the table below (the longest matching prefix wins). A module
may import its own layer and the layers below it, never one above. An import inside a
function that crosses from one app to another needs a comment on its line or the line
above saying why. Nothing here imports the code it reads, so it runs in a second.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. A module is placed by the longest prefix of its dotted name listed here;
# web modules (WEB_PARTS) of any app sit in the "web and commands" layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation: no Django model, no app",
        (
            "nattillsyn.errors",
            "nattillsyn",  # the package itself only (EXACT_ONLY); its modules are placed one by one
            "nattillsyn.clock",
            "nattillsyn.env",
            "nattillsyn.net",
            "nattillsyn.crypto",
            "nattillsyn.security",
            "nattillsyn.metrics_http",
            "common",
            "gateway",
            "simcam",
        ),
    ),
    ("audit log", ("audit.models", "audit.records")),
    ("accounts and tenants", ("accounts", "audit.refusals")),
    ("identity providers", ("sso",)),
    ("people", ("people",)),
    (
        "check records and privacy rules",
        ("checks.models", "checks.nights", "checks.reasons", "checks.covered"),
    ),
    ("cameras", ("cameras",)),
    ("checks", ("checks",)),
    ("labels of every app's codes", ("nattillsyn.codes",)),
    ("the patrol's phone alerts", ("notifications",)),
    ("reports and the audit log's reading", ("reports", "audit")),
    ("what the person is told", ("letters",)),
    ("the worker", ("checks.engine", "checks.reconcile")),
    (
        "web and commands",
        (
            "console",
            "monitoring",
            "nattillsyn.urls",
            "nattillsyn.health",
            "nattillsyn.settings",
            "nattillsyn.wsgi",
            "manage",
        ),
    ),
    ("test harness", ("nattillsyn.testing", "sso.testing", "conftest", "e2e", "benchmarks", "deploy")),
]
WEB_PARTS = {"views", "forms", "urls", "admin", "middleware", "context_processors", "management", "templatetags"}
# Listed for the module itself, not for what is below it.
EXACT_ONLY = {"nattillsyn"}
SKIPPED_DIRS = {".venv", "node_modules", "migrations", "static", "templates", "locale", ".git"}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if "tests" in parts or parts[-1].startswith("test_"):
        return len(LAYERS) - 1
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (module.startswith(prefix + ".") and prefix not in EXACT_ONLY):
                length = prefix.count(".") + 1
                if best is None or length > best[0]:
                    best = (length, index)
    if best is None:
        return None
    web = next(index for index, (name, _prefixes) in enumerate(LAYERS) if name == "web and commands")
    is_web = any(part in WEB_PARTS or part.endswith("_views") for part in parts[1:])
    return max(best[1], web) if is_web and best[1] < web else best[1]


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool
    commented: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        if SKIPPED_DIRS & set(path.relative_to(ROOT).parts):
            continue
        modules[_module_name(path)] = path
    return modules


def _explained(lines: list[str], line: int) -> bool:
    """A comment on the import's line or on the lines of imports and comments just above it."""
    index = line - 1
    if "#" in lines[index]:
        return True
    while index > 0 and (
        not lines[index - 1].strip() or lines[index - 1].strip().startswith(("from ", "import ", "#"))
    ):
        index -= 1
        if lines[index].strip().startswith("#"):
            return True
    return False


def _imports(module: str, path: Path, modules: set[str], packages: set[str]) -> list[Import]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            function = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            typing_block = isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING")
            if isinstance(child, ast.Import | ast.ImportFrom) and not type_only:
                if isinstance(child, ast.ImportFrom):
                    if child.level:  # relative: within the same package
                        continue
                    base = child.module or ""
                    # ``from checks import actions`` imports the module checks.actions.
                    targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in child.names]
                else:
                    targets = [alias.name for alias in child.names]
                for target in dict.fromkeys(targets):
                    if target.split(".")[0] in packages:
                        found.append(Import(module, target, child.lineno, in_function, _explained(lines, child.lineno)))
            visit(child, function, type_only or typing_block)

    visit(tree, False, False)
    return found


def all_imports() -> list[Import]:
    modules = project_modules()
    packages = {name.split(".")[0] for name in modules}
    names = set(modules)
    return [found for module, path in sorted(modules.items()) for found in _imports(module, path, names, packages)]


def test_it_places_every_module_in_a_layer() -> None:
    unplaced = sorted(module for module in project_modules() if layer_of(module) is None)
    assert unplaced == [], "add these modules to LAYERS in this test and in docs/ARCHITECTURE.md"


def test_it_finds_no_import_of_a_higher_layer() -> None:
    upward = []
    for found in all_imports():
        source, target = layer_of(found.source), layer_of(found.target)
        if source is None or target is None or target <= source:
            continue
        upward.append(f"{found.source}:{found.line} ({LAYERS[source][0]}) imports {found.target} ({LAYERS[target][0]})")
    assert upward == [], "\n".join(upward)


def test_it_finds_no_unexplained_import_inside_a_function_between_apps() -> None:
    hidden = [
        f"{found.source}:{found.line} imports {found.target}"
        for found in all_imports()
        if found.in_function
        and not found.commented
        and found.source.split(".")[0] != found.target.split(".")[0]
        and layer_of(found.source) != len(LAYERS) - 1  # the test harness may
    ]
    assert hidden == [], "import at the top of the module, or say in a comment why it cannot be:\n" + "\n".join(hidden)


def test_it_catches_an_import_of_a_higher_layer() -> None:
    """The check itself: a lower module importing a higher one is caught, also inside a function."""
    tree_source = "def f():\n    from checks.actions import plan_night\n"
    (found,) = [
        Import("people.actions", node.module or "", node.lineno, True, False)
        for node in ast.walk(ast.parse(tree_source))
        if isinstance(node, ast.ImportFrom)
    ]
    assert layer_of(found.target) > layer_of(found.source)  # type: ignore[operator]
    assert layer_of("gateway.grants") == 0 and layer_of("console.views") > layer_of("checks.actions")  # type: ignore[operator]
