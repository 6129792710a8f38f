"""The work of one worker, whatever the executor: build the backend once, run a part as one population."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from simlab.config.models import BackendSpec
from simlab.engine.spec import RunSpec
from simlab.store.store import RunRecord
from simlab.sweep.execute import build_backend, execute_specs


def run_part(specs: list[RunSpec], backend_data: dict[str, Any], cache: str | None, population: int) -> Iterator[RunRecord]:
    """Each run's record of `specs`, yielded as its run finishes; one backend for the whole part.

    `execute_specs` keeps up to `population` sessions in flight through one
    `NegotiationModel`, so each step sends the backend a full batch.
    """
    backend = build_backend(BackendSpec.model_validate(backend_data), Path(cache) if cache else None)
    try:
        yield from execute_specs(specs, backend, population=population)
    finally:
        backend.close()
