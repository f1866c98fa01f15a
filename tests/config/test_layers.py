"""Imports run one way: front doors -> ingestion -> config (see README, "Where things live").

Readers of ingestion (analytics, and notifications once it exists) go through its one public module,
`ingestion.contract`; nothing imports notifications. A package that does not exist yet has no files, so
its rules hold trivially until it arrives.
"""

import ast
from pathlib import Path

import pytest

from ingestion import contract

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "ingestion", "uploads_app", "analytics", "notifications")
FORBIDDEN = {
    "config": {"ingestion", "uploads_app", "analytics", "notifications"},
    "ingestion": {"uploads_app", "analytics", "notifications"},
    "uploads_app": {"notifications"},
    "analytics": {"uploads_app", "notifications"},
    "notifications": {"uploads_app"},
}
PUBLIC_CONTRACT = "ingestion.contract"
CONTRACT_READERS = ("analytics", "notifications")


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every absolute module an import names: `from a.b import c` gives a.b and a.b.c (c may be a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imported_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def ingestion_modules_beside_the_contract(path: Path) -> set[str]:
    """The ingestion modules an import reaches other than the contract (or names in it)."""
    return {
        name
        for name in imported_modules(path)
        if name.split(".")[0] == "ingestion"
        and name not in ("ingestion", PUBLIC_CONTRACT)
        and not name.startswith(f"{PUBLIC_CONTRACT}.")
    }


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_lower_layer_never_imports_a_higher_one(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in python_files(package)
    }

    assert {path: names for path, names in wrong.items() if names} == {}


@pytest.mark.parametrize("package", CONTRACT_READERS)
def test_readers_reach_ingestion_only_through_its_public_contract(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(ingestion_modules_beside_the_contract(path))
        for path in python_files(package)
    }

    assert {path: names for path, names in wrong.items() if names} == {}


def test_the_reader_check_catches_a_reach_past_the_contract(tmp_path):
    module = tmp_path / "reader.py"
    module.write_text(
        "import ingestion.selectors\n"
        "from ingestion import field_names, contract\n"
        "from ingestion.contract import job_get\n"
        "from ingestion.services.events import job_event_get\n"
    )

    assert ingestion_modules_beside_the_contract(module) == {
        "ingestion.selectors",
        "ingestion.field_names",
        "ingestion.services.events",
        "ingestion.services.events.job_event_get",
    }


def test_the_contract_exports_every_name_it_lists():
    assert contract.__all__
    assert [name for name in contract.__all__ if not hasattr(contract, name)] == []


def test_only_the_repositories_reach_mongodb():
    touching = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in python_files(package)
        if "pymongo" in imported_packages(path) or "get_database" in path.read_text()
    }

    assert touching == {"ingestion/repository.py", "ingestion/stream_repository.py", "config/mongo.py"}
