"""The design's import rules, checked on the source: engine.core is pure, web/workers see only contracts."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside the same package
                names.append("." * node.level + (node.module or ""))
            elif node.module:
                names.append(node.module)
    return names


def _py_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_engine_core_imports_only_the_standard_library():
    offenders = []
    for path in _py_files("engine/core"):
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith(".") or name.startswith("engine.core") or top in STDLIB:
                continue
            offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_web_and_workers_import_only_contracts_from_engine():
    offenders = []
    for package in ("web", "workers"):
        for path in _py_files(package):
            for name in _imports(path):
                if (name == "engine" or name.startswith("engine.")) and name != "engine.contracts":
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_engine_feed_and_workers_do_not_import_flask():
    offenders = []
    for package in ("engine", "feed", "workers", "common", "models"):
        for path in _py_files(package):
            for name in _imports(path):
                if name.split(".")[0] in ("flask", "flask_smorest", "flask_sock", "web"):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_the_checker_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import redis\nfrom engine.core.state import X\n")
    assert _imports(bad) == ["redis", "engine.core.state"]
