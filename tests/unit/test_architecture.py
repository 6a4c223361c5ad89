"""core/ stays plain Python: no web framework, no floats for money."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"flask", "flask_login", "flask_wtf", "wtforms", "werkzeug", "jinja2"}
# The PDF renderer has its own Jinja2 environment for templates/documents/ (ARCHITECTURE.md:
# "except the PDF renderer's own templates"); everything else in core stays template-free.
JINJA_ALLOWED = ROOT / "core" / "kernel" / "pdf.py"
CORE_FILES = sorted((ROOT / "core").rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_has_modules() -> None:
    assert len(CORE_FILES) > 5


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_web_framework(path: Path) -> None:
    forbidden = set(FORBIDDEN)
    if path == JINJA_ALLOWED:
        forbidden.discard("jinja2")
    assert not imported_modules(path) & forbidden


def test_jinja2_is_used_only_by_the_pdf_renderer() -> None:
    users = {p.relative_to(ROOT).as_posix() for p in CORE_FILES if "jinja2" in imported_modules(p)}
    assert users, "core/kernel/pdf.py renders templates with jinja2"
    assert users == {"core/kernel/pdf.py"}, users


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_uses_no_float(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    floats = [
        n.lineno
        for n in ast.walk(tree)
        if (isinstance(n, ast.Name) and n.id == "float")
        or (isinstance(n, ast.Constant) and isinstance(n.value, float))
    ]
    assert not floats, f"float in {path.name} at lines {floats}"


def test_portal_and_backoffice_do_not_import_each_others_views() -> None:
    for path in (ROOT / "portal").rglob("*.py"):
        assert "backoffice" not in imported_modules(path) or path.name == "app.py", path


APP_FILES = sorted(
    p for layer in ("core", "portal", "backoffice") for p in (ROOT / layer).rglob("*.py")
)
MAX_MODULE_LINES = 400  # ARCHITECTURE.md "Size"
MAX_FUNCTION_LINES = 60
LONG_REASON = "# long because"  # on the def line or the line above: why it cannot be split


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: cut it by responsibility"


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_long_functions_say_why(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    too_long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
        and not any(LONG_REASON in line for line in lines[max(0, node.lineno - 2) : node.lineno])
    ]
    assert not too_long, too_long
