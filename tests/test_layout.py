"""The test suite's own rules, so a newcomer (or a parallel change) cannot quietly break them.

- tests/ mirrors hotline/: a test of hotline/<layer>/ lives in tests/<layer>/; tests of the whole
  hotline at once (faults, privacy, soak) in tests/system/; the shipped content in
  tests/test_shipped_content.py.
- A test file imports hotline, support (tests/support/) and libraries: never conftest, another test
  file, bench/, or a _private name; it reaches no _private attribute either.
- Only tests/test_shipped_content.py reads the shipped content: no other test imports ROOT.
"""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "hotline"
LAYERS = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
TOP_LEVEL = {"test_layout.py", "test_shipped_content.py"}
NOT_LAYERS = {"system", "support", "fixtures"}
ROOT_ALLOWED = {"test_shipped_content.py": "it tests the shipped content",
                "system/test_soak.py": "writes its report under bench/out/",
                "system/test_sources.py": "it keeps docs/SOURCES.md in step with the shipped content"}


def all_test_files() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def where(path: Path) -> str:
    return path.relative_to(TESTS).as_posix()


def test_tests_mirror_the_package() -> None:
    misplaced = []
    for path in all_test_files():
        parts = path.relative_to(TESTS).parts
        if len(parts) == 1:
            ok = parts[0] in TOP_LEVEL
        else:
            ok = parts[0] in LAYERS or parts[0] == "system"
        if not ok or parts[0] in ("support", "fixtures"):
            misplaced.append(where(path))
    assert not misplaced, f"put each test beside the layer it tests (tests/<layer>/): {misplaced}"
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))}
    assert folders - NOT_LAYERS <= LAYERS, f"tests/ folders that are no layer of hotline/: {folders - NOT_LAYERS - LAYERS}"


def imports_of(tree: ast.AST) -> list[tuple[str, list[str], int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", [alias.name for alias in node.names], node.lineno))
    return found


def test_no_test_imports_conftest_another_test_bench_or_a_private_name() -> None:
    bad = []
    for path in all_test_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module, names, line in imports_of(tree):
            top = module.split(".")[0]
            if top == "conftest" or top.startswith("test_") or top == "bench" or top == "fake_twilio":
                bad.append(f"{where(path)}:{line} imports {module}")
            if any(part.startswith("_") and not part.startswith("__") for part in module.split(".")):
                bad.append(f"{where(path)}:{line} imports the private module {module}")
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    bad.append(f"{where(path)}:{line} imports the private name {name} from {module}")
                if name == "ROOT" and where(path) not in ROOT_ALLOWED:
                    bad.append(f"{where(path)}:{line} imports ROOT: behaviour tests use the fixture content")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                bad.append(f"{where(path)}:{node.lineno} reaches the private attribute .{node.attr}")
    assert not bad, "\n".join(["Shared helpers go to tests/support/, fixtures to conftest.py:", *bad])
