"""Fixtures for the dashboard tests (the stores are built in dash_fixtures.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from dash_fixtures import fill_store, fill_tournament


@pytest.fixture(scope="session")
def filled_store(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("store") / "simlab.duckdb"
    ids = fill_store(path)
    return path, ids


@pytest.fixture
def app_env(monkeypatch, filled_store):
    """SIMLAB_STORE pointing at the filled store; returns (path, ids)."""
    path, ids = filled_store
    monkeypatch.setenv("SIMLAB_STORE", str(path))
    return path, ids


@pytest.fixture(scope="session")
def tournament_store(tmp_path_factory) -> tuple[Path, dict]:
    """A store holding one 32-condition tournament study (8 leads x 4 counterparts x 2 seeds)."""
    path = tmp_path_factory.mktemp("tournament") / "simlab.duckdb"
    return path, fill_tournament(path)
