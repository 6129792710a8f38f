"""The learner's reward, one definition for the environment and the offline dataset.

Per decision: ``concession_weight`` x the counterpart's concession in the
learner's utility (the change of its offer's utility between its last offer
before the decision and its last offer before the learner's next decision; 0
when it made no new offer or had none before), plus, on the last decision,
``final_weight`` x the final utility rescaled between the reservation value and
1 (0 without agreement).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def their_offer_utilities(turns: Sequence[Mapping[str, Any]], role: str, utility: Any) -> list[float]:
    """The utilities (for `role`) of every offer the other side made in `turns`, in order."""
    return [float(utility.undiscounted(t["offer"])) for t in turns if t["role"] != role and t["action"] == "offer"]


def concession_reward(before: Sequence[float], after: Sequence[float]) -> float:
    """The counterpart's concession between its last offer in `before` and its last in `after` (0 without both)."""
    if not before or len(after) == len(before):
        return 0.0
    return float(after[-1] - before[-1])


def rescaled_final(agreement: bool, final_utility: float | None, reservation: float) -> float:
    """The final utility rescaled to [0, 1] between the reservation value and 1; 0 without agreement."""
    if not agreement or final_utility is None:
        return 0.0
    return float(min(max((final_utility - reservation) / max(1.0 - reservation, 1e-9), 0.0), 1.0))
