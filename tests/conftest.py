"""Shared fixtures: repository paths and a scripted study in a temp folder."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def debt_scenario():
    from simlab.config.loader import load_scenario

    return load_scenario("debt_collection")


@pytest.fixture
def small_study(tmp_path: Path) -> Path:
    """A 2x2x2 scripted study file (8 runs) in tmp_path, using the built-in scenario and agents."""
    path = tmp_path / "experiments" / "small.yaml"
    path.parent.mkdir()
    path.write_text(
        """
study: small
scenarios: [debt_collection]
agents:
  creditor: [boulware_creditor, conceder_creditor]
  debtor: [cooperative_debtor, threatening_debtor]
seeds: [1, 2]
population: 3
backend: {kind: scripted}
"""
    )
    return path
