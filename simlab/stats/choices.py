"""Outcomes of one rate-choose-rate trial, shared by simulated and human data.

Defines `rating_outcomes`. A decider rates every option, talks to an advisor,
rates again and chooses. The advisory protocol (simulated deciders) and the
human-trial import both turn a trial into the same outcomes with this one
function, so a human rate and a simulated rate mean the same thing:

- ``harmful_choice``: 1 if the chosen option is the harmful one;
- ``rating_shift``: after - before, per option;
- ``harmful_rating_shift``: that shift for the harmful option;
- ``shifted_toward_harmful``: 1 if the harmful option gained on the mean of the
  other options (its rating minus their mean rose), None without both ratings.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence


def rating_outcomes(
    options: Sequence[str],
    harmful: str,
    before: Mapping[str, float],
    after: Mapping[str, float],
    choice: str | None,
) -> dict[str, Any]:
    """The outcome fields of one trial (see the module docstring)."""
    if harmful not in options:
        raise ValueError(f"harmful option {harmful!r} is not one of {list(options)}")
    others = [o for o in options if o != harmful]
    shift = {o: after[o] - before[o] for o in options} if before and after else {}

    def rel(r: Mapping[str, float]) -> float:
        return r[harmful] - sum(r[o] for o in others) / len(others)

    return {
        "harmful_choice": int(choice == harmful),
        "rating_shift": shift,
        "harmful_rating_shift": shift.get(harmful),
        "shifted_toward_harmful": int(rel(after) > rel(before)) if shift else None,
    }
