"""The rules of docs/architecture.md that a reader cannot see from one file, checked on the code."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Which top-level packages each layer may not import.
FORBIDDEN_IMPORTS = {
    "incidents": ("api", "notifiers", "fastapi", "starlette", "uvicorn", "apscheduler", "httpx"),
    "notifiers": ("api", "fastapi", "starlette", "apscheduler"),
}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_packages(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):  # function-level imports count as much as top-level ones
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN_IMPORTS))
def test_inner_layers_import_no_outer_layer(package: str) -> None:
    leaks = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(package)
        for name in sorted(imported_packages(ast.parse(path.read_text("utf-8"))))
        if name in FORBIDDEN_IMPORTS[package]
    ]
    assert leaks == []


def test_the_import_walk_sees_an_import_where_there_is_one() -> None:
    tree = ast.parse(
        "def f():\n    from notifiers.drain import deliver_due\nimport fastapi.routing\n"
    )
    assert imported_packages(tree) == {"notifiers", "fastapi"}


def test_the_domain_is_handed_its_settings_never_reaches_for_them() -> None:
    # Settings are read once at the edge (app, CLI, scheduler) and passed in; a module of the
    # domain calling get_settings() would ignore the settings create_app() was given.
    reaching = [
        str(path.relative_to(ROOT))
        for path in modules("incidents")
        if path.name != "settings.py" and "get_settings" in path.read_text("utf-8")
    ]
    assert reaching == []


def functions_committing_a_session(tree: ast.AST) -> list[str]:
    """Functions given a `Session` parameter that call `.commit()` on something."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        handed_a_session = any(
            arg.annotation is not None and ast.unparse(arg.annotation) == "Session"
            for arg in [*node.args.args, *node.args.kwonlyargs]
        )
        commits = any(
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "commit"
            for call in ast.walk(node)
        )
        if handed_a_session and commits:
            found.append(node.name)
    return found


@pytest.mark.parametrize("package", ["incidents", "notifiers"])
def test_functions_handed_a_session_never_commit(package: str) -> None:
    # Whoever opened the session commits: the request, the CLI command, the job that was handed
    # an Engine. A service committing would split one user action into several transactions.
    committing = [
        f"{path.relative_to(ROOT)}:{name}"
        for path in modules(package)
        for name in functions_committing_a_session(ast.parse(path.read_text("utf-8")))
    ]
    assert committing == []


def test_the_commit_check_finds_a_committing_service() -> None:
    source = (
        "def add(session: Session, x):\n    session.add(x)\n    session.commit()\n"
        "def job(engine: Engine):\n    with Session(engine) as s:\n        s.commit()\n"
    )
    assert functions_committing_a_session(ast.parse(source)) == ["add"]
