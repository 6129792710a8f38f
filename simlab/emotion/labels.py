"""Emotion label spaces: `EKMAN7`, `PLUTCHIK8`, `GOEMOTIONS28`, `SPACES`, `get_space`.

`EKMAN7` is the default space agents express emotions in: Ekman's (1992) six
basic emotions plus neutral. `PLUTCHIK8` is Plutchik's (1980) wheel of eight
primary emotions (the categories of the NRC Emotion Lexicon, so lexicon
detection is native to it). `GOEMOTIONS28` is the taxonomy of Demszky et al.
(2020), GoEmotions: 27 categories plus neutral, in the dataset's order.

Every label has valence-arousal-dominance coordinates in `simlab.emotion.vad`;
`simlab.emotion.mapping` maps distributions between the spaces.
"""
from __future__ import annotations

from collections.abc import Iterable

from simlab.errors import ConfigError

EKMAN7: tuple[str, ...] = ("neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust")
DEFAULT_SPACE = EKMAN7

PLUTCHIK8: tuple[str, ...] = ("joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation")

GOEMOTIONS28: tuple[str, ...] = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)

SPACES: dict[str, tuple[str, ...]] = {
    "ekman7": EKMAN7,
    "plutchik8": PLUTCHIK8,
    "goemotions28": GOEMOTIONS28,
}
"""Space name (as used in YAML) -> labels in a fixed order."""

ALL_LABELS: tuple[str, ...] = tuple(dict.fromkeys(EKMAN7 + PLUTCHIK8 + GOEMOTIONS28))


def get_space(space: str | Iterable[str] | None) -> tuple[str, ...]:
    """The labels of `space`: a name from `SPACES`, an explicit label list, or None (default).

    Raises:
        ConfigError: an unknown space name, or labels without VAD coordinates.
    """
    if space is None:
        return DEFAULT_SPACE
    if isinstance(space, str):
        key = space.lower().replace("-", "").replace("_", "")
        for name, labels in SPACES.items():
            if name.replace("_", "") == key:
                return labels
        raise ConfigError(f"unknown emotion space '{space}'. Known: {', '.join(SPACES)}.")
    labels = tuple(str(x) for x in space)
    if not labels:
        return DEFAULT_SPACE
    unknown = [x for x in labels if x not in ALL_LABELS]
    if unknown:
        raise ConfigError(
            f"emotion labels without VAD coordinates: {', '.join(unknown)}. "
            f"Use labels from {', '.join(SPACES)}."
        )
    return labels


def space_name(labels: Iterable[str]) -> str | None:
    """The `SPACES` name whose labels are exactly `labels` (any order), else None."""
    wanted = set(labels)
    for name, space in SPACES.items():
        if set(space) == wanted:
            return name
    return None


def infer_space(labels: Iterable[str]) -> tuple[str, ...]:
    """The smallest known space containing every label in `labels` (default space if none)."""
    wanted = set(labels)
    for space in sorted(SPACES.values(), key=len):
        if wanted <= set(space):
            return space
    return DEFAULT_SPACE
