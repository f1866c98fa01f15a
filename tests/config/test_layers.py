"""Imports run one way: front doors -> ingestion -> config (see README, "Where things live")."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "config": {"ingestion", "uploads_app", "analytics"},
    "ingestion": {"uploads_app", "analytics"},
    "analytics": {"uploads_app"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_lower_layer_never_imports_a_higher_one(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }

    assert {path: names for path, names in wrong.items() if names} == {}


def test_only_the_job_repository_reaches_mongodb():
    touching = {
        str(path.relative_to(ROOT))
        for package in ("config", "ingestion", "uploads_app", "analytics")
        for path in (ROOT / package).rglob("*.py")
        if "pymongo" in imported_packages(path) or "get_database" in path.read_text()
    }

    assert touching == {"ingestion/repository.py", "config/mongo.py"}
