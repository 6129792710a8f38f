"""The one featuriser of learned emotion selectors: `featurise`, `feature_names`, `n_features`.

A learned selector (an SB3 policy, the IQL selector) sees a negotiation as a
fixed-length vector. The same function builds it online (from
`Observation.history`, the session's turn dicts, in `NegotiationEnv` and in the
``rl_policy`` / ``iql_selector`` strategies) and offline (from the store's turn
rows, in `simlab.learn.dataset`), so a policy trained on one runs on the other.
It lives in the strategies layer because strategies play learned policies and
may not import `simlab.learn`.

The vector, for a role with utility function u over label space E (n labels):

- own last emotion shown (one-hot, n) and the counterpart's (one-hot, n);
- the counterpart's last detected emotion distribution (n; zeros when the run
  had no detector);
- the role's own HMM belief over the counterpart's states (``STATES`` of
  `simlab.strategies.hmm_tracker`) where its strategy logged one, and a flag;
- time = round / deadline;
- own and counterpart last offer utilities in u (0 when none) with presence flags,
  and the gap between them (own - counterpart; 0 unless both exist);
- the counterpart's last concession in u (change of its offer's utility between
  its last two offers) and a stalemate counter (its consecutive offers without
  a concession, /10, capped at 1), after the state of the EmoDistill selector.

Utilities are computed here from the offers (``u.undiscounted``), not read from
logged columns, so a history that carries only offers is enough.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from simlab.strategies.hmm_tracker import STATES as BELIEF_STATES

if TYPE_CHECKING:
    from simlab.strategies.utility import UtilityFunction

SCALARS = (
    "belief_logged",
    "time",
    "own_offer_utility",
    "has_own_offer",
    "their_offer_utility",
    "has_their_offer",
    "gap",
    "their_concession",
    "stalemate",
)
STALEMATE_CAP = 10
CONCESSION_EPS = 1e-6


def feature_names(emotions: Sequence[str]) -> list[str]:
    """Names of the vector's entries, in order."""
    return (
        [f"own_emotion={e}" for e in emotions]
        + [f"their_emotion={e}" for e in emotions]
        + [f"their_detected={e}" for e in emotions]
        + [f"belief={s}" for s in BELIEF_STATES]
        + list(SCALARS)
    )


def n_features(n_emotions: int) -> int:
    """Length of the vector for a label space of `n_emotions`."""
    return 3 * n_emotions + len(BELIEF_STATES) + len(SCALARS)


def featurise(
    history: Sequence[Mapping[str, Any]],
    role: str,
    utility: "UtilityFunction",
    round_: int,
    deadline: int,
    emotions: Sequence[str],
) -> np.ndarray:
    """The observation vector of `role` deciding in round `round_` after the turns in `history`.

    Args:
        history: the turns so far, oldest first; each a mapping with "role",
            "emotion", "action" (optional, "offer" assumed), "offer" (issue ->
            value or None) and optionally "detected" and "belief" (mappings).
        role: the deciding role; every other role is the counterpart.
        utility: the deciding role's utility function.
        round_: the round of the decision (from 1); time is round_ / deadline.
        deadline: the deadline in rounds.
        emotions: the label space (order fixes the one-hot positions).

    Returns:
        float32 vector of length ``n_features(len(emotions))``.
    """
    n = len(emotions)
    index = {e: i for i, e in enumerate(emotions)}
    x = np.zeros(n_features(n), dtype=np.float32)
    own = theirs = None
    their_offers: list[float] = []  # utilities of the counterpart's offers, newest first
    stalemate_open = True
    stalemate = 0
    for turn in reversed(history):
        is_own = turn.get("role") == role
        if is_own and own is None:
            own = turn
        if not is_own:
            if theirs is None:
                theirs = turn
            if turn.get("action", "offer") == "offer" and turn.get("offer") and len(their_offers) < STALEMATE_CAP + 1:
                their_offers.append(float(utility.undiscounted(turn["offer"])))
        if own is not None and theirs is not None and len(their_offers) > STALEMATE_CAP:
            break
    for k in range(1, len(their_offers)):
        if stalemate_open and their_offers[k - 1] <= their_offers[k] + CONCESSION_EPS:
            stalemate += 1
        else:
            stalemate_open = False
    if own is not None and own.get("emotion") in index:
        x[index[own["emotion"]]] = 1.0
    if theirs is not None and theirs.get("emotion") in index:
        x[n + index[theirs["emotion"]]] = 1.0
    detected = theirs.get("detected") if theirs is not None else None
    if isinstance(detected, Mapping):
        for e, p in detected.items():
            if e in index:
                x[2 * n + index[e]] = float(p)
    base = 3 * n
    belief = own.get("belief") if own is not None else None
    if isinstance(belief, Mapping) and any(s in belief for s in BELIEF_STATES):
        for j, s in enumerate(BELIEF_STATES):
            x[base + j] = float(belief.get(s, 0.0))
        x[base + len(BELIEF_STATES)] = 1.0
    s = base + len(BELIEF_STATES) + 1
    x[s] = min(max(round_ / max(deadline, 1), 0.0), 1.0)
    own_u = None
    if own is not None and own.get("offer"):
        own_u = float(utility.undiscounted(own["offer"]))
        x[s + 1], x[s + 2] = own_u, 1.0
    their_u = their_offers[0] if their_offers else None
    if their_u is not None:
        x[s + 3], x[s + 4] = their_u, 1.0
    if own_u is not None and their_u is not None:
        x[s + 5] = own_u - their_u
    if len(their_offers) >= 2:
        x[s + 6] = their_offers[0] - their_offers[1]
    x[s + 7] = min(stalemate, STALEMATE_CAP) / STALEMATE_CAP
    return x
