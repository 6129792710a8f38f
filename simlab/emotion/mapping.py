"""Mapping emotions between label spaces: `mapping_matrix`, `map_distribution`, `map_label`.

A mapping from space S to space T is a row-stochastic matrix M (|S| x |T|);
a distribution p over S maps to p @ M over T. Each row is decided by the first
rule that applies:

1. the same label exists in T: identity (so mapping into a superset is lossless);
2. a documented table for the pair of spaces (`TABLES`): GoEmotions to Ekman-7 is
   the published table (`GOEMOTIONS_TO_EKMAN`, Demszky et al. 2020,
   goemotions/data/ekman_mapping.json); GoEmotions to Plutchik-8 is that table
   with the intensity gradations of Plutchik's wheel (Plutchik 1980; admiration
   is intense trust, approval/acceptance mild trust, interest/curiosity mild
   anticipation); Plutchik-8 to GoEmotions sends trust to admiration and
   anticipation to curiosity (the same gradations, inverted);
3. the label is "neutral" and T has no neutral (Plutchik-8): a uniform row,
   since neutral carries no evidence for any category;
4. otherwise nearest in valence-arousal-dominance space (`simlab.emotion.vad`):
   one-hot on the nearest target label, or with ``soft=True`` a Gaussian kernel
   ``softmax(-d^2 / temperature)`` over the target labels, which splits the mass
   of a label that sits between two targets (Plutchik's anticipation lies almost
   exactly between Ekman's joy and surprise).

`map_label` returns the most probable target label of the hard mapping (for the
uniform neutral row, the VAD-nearest target).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

import numpy as np

from simlab.emotion import vad as vad_mod
from simlab.emotion.labels import get_space, infer_space, space_name

GOEMOTIONS_TO_EKMAN: dict[str, str] = {
    **{x: "anger" for x in ("anger", "annoyance", "disapproval")},
    "disgust": "disgust",
    **{x: "fear" for x in ("fear", "nervousness")},
    **{
        x: "joy"
        for x in (
            "joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism",
            "relief", "pride", "admiration", "desire", "caring",
        )
    },
    **{x: "sadness" for x in ("sadness", "disappointment", "embarrassment", "grief", "remorse")},
    **{x: "surprise" for x in ("surprise", "realization", "confusion", "curiosity")},
    "neutral": "neutral",
}
"""GoEmotions label -> Ekman label (Demszky et al. 2020, the dataset's ekman_mapping.json)."""

GOEMOTIONS_TO_PLUTCHIK: dict[str, str] = {
    **{k: v for k, v in GOEMOTIONS_TO_EKMAN.items() if k != "neutral"},
    "admiration": "trust",
    "approval": "trust",
    "curiosity": "anticipation",
}
"""GoEmotions -> Plutchik-8: the Ekman table plus Plutchik's wheel gradations (neutral: rule 3)."""

PLUTCHIK_TO_GOEMOTIONS: dict[str, str] = {"trust": "admiration", "anticipation": "curiosity"}
"""Plutchik-8 labels that GoEmotions lacks -> their GoEmotions counterpart on Plutchik's wheel."""

TABLES: dict[tuple[str, str], dict[str, str]] = {
    ("goemotions28", "ekman7"): GOEMOTIONS_TO_EKMAN,
    ("goemotions28", "plutchik8"): GOEMOTIONS_TO_PLUTCHIK,
    ("plutchik8", "goemotions28"): PLUTCHIK_TO_GOEMOTIONS,
}
"""(source space, target space) -> label table, applied before VAD nearest-neighbour."""


def _row(label: str, src: tuple[str, ...], dst: tuple[str, ...], soft: bool, temperature: float) -> np.ndarray:
    n = len(dst)
    row = np.zeros(n)
    if label in dst:
        row[dst.index(label)] = 1.0
        return row
    table = TABLES.get((space_name(src) or "", space_name(dst) or ""), {})
    if table.get(label) in dst:
        row[dst.index(table[label])] = 1.0
        return row
    if label == "neutral":
        return np.full(n, 1.0 / n)
    d2 = np.sum((vad_mod.matrix(dst) - vad_mod.vad(label)) ** 2, axis=1)
    if soft:
        z = -d2 / temperature
        w = np.exp(z - z.max())
        return w / w.sum()
    row[int(np.argmin(d2))] = 1.0
    return row


@lru_cache(maxsize=64)
def _cached(src: tuple[str, ...], dst: tuple[str, ...], soft: bool, temperature: float) -> np.ndarray:
    m = np.vstack([_row(x, src, dst, soft, temperature) for x in src])
    m.setflags(write=False)
    return m


def mapping_matrix(
    src: str | Iterable[str], dst: str | Iterable[str], soft: bool = False, temperature: float = 0.02
) -> np.ndarray:
    """The row-stochastic |src| x |dst| matrix described in the module docstring (read-only)."""
    return _cached(get_space(src), get_space(dst), bool(soft), float(temperature))


def map_distribution(
    distribution: Mapping[str, float],
    dst: str | Iterable[str],
    src: str | Iterable[str] | None = None,
    soft: bool = True,
    temperature: float = 0.02,
) -> dict[str, float]:
    """`distribution` (over `src`, inferred from its keys if None) as a distribution over `dst`.

    Labels outside `src` are dropped; an empty or all-zero input maps to the
    uniform distribution over `dst`.
    """
    target = get_space(dst)
    source = get_space(src) if src is not None else infer_space(k for k, v in distribution.items())
    p = np.array([max(float(distribution.get(x, 0.0)), 0.0) for x in source])
    if p.sum() <= 0:
        return {x: 1.0 / len(target) for x in target}
    q = (p / p.sum()) @ mapping_matrix(source, target, soft, temperature)
    q = q / q.sum()
    return {x: float(v) for x, v in zip(target, q)}


def map_label(label: str, dst: str | Iterable[str], src: str | Iterable[str] | None = None) -> str:
    """The label of `dst` that `label` (from `src`, inferred if None) maps to under the hard mapping."""
    target = get_space(dst)
    if label in target:
        return label
    source = get_space(src) if src is not None else infer_space([label])
    row = mapping_matrix(source, target)[source.index(label)]
    if np.count_nonzero(row == row.max()) > 1:
        return vad_mod.nearest(vad_mod.vad(label), target)
    return target[int(np.argmax(row))]
