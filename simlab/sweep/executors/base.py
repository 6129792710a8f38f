"""What every executor shares: the executor names, `WorkerLost`, `partition` and `lost_message`.

In its own module so the executors (`local`, `ray_cluster`) import it without
importing the package that dispatches to them (`simlab.sweep.executors`).
"""
from __future__ import annotations

from simlab.engine.spec import RunSpec
from simlab.errors import SimlabError

EXECUTORS = ("local", "ray")


class WorkerLost(SimlabError):
    """A worker died before its part finished; its finished runs are stored, its unfinished ones are not."""


def partition(specs: list[RunSpec], workers: int) -> list[list[RunSpec]]:
    """`specs` dealt round-robin into at most `workers` non-empty parts (similar sizes, grid order kept in each)."""
    n = max(1, min(workers, len(specs)))
    return [specs[i::n] for i in range(n)]


def lost_message(what: str, finished: int, unfinished: int, why: str) -> str:
    """The one line for a worker that died: what died and why, what is stored, how to resume."""
    return (
        f"{what} died ({why}) with {unfinished} of its runs unfinished; the {finished} it finished are stored; "
        "run the study again to run the rest"
    )
