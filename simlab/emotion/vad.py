"""Valence-arousal-dominance coordinates of every emotion label: `VAD`, `vad`, `centered`, `nearest`.

Source: the NRC Valence, Arousal, and Dominance Lexicon v1.0 (Mohammad, S. M.
2018, "Obtaining Reliable Human Ratings of Valence, Arousal, and Dominance for
20,000 English Words", ACL). Each value is the lexicon's best-worst-scaling
score of the label word itself, in [0, 1] (0 = most negative / calm /
submissive, 1 = most positive / excited / dominant). The three dimensions are
the PAD (pleasure-arousal-dominance) dimensions of Russell & Mehrabian (1977),
"Evidence for a three-factor theory of emotions"; `centered` rescales to their
[-1, 1] convention.

Note the lexicon rates the *word*: "surprise" is rated pleasant (V=0.875), and
"neutral" sits near the middle of valence with low arousal. These are the
coordinates every VAD computation in simlab uses (space mapping, coherence
dynamics); replace them by passing explicit coordinates where a study needs
another source.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

# label: (valence, arousal, dominance), NRC-VAD v1.0 scores of the label word.
VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (0.469, 0.184, 0.357),
    "joy": (0.980, 0.824, 0.794),
    "sadness": (0.052, 0.288, 0.164),
    "anger": (0.167, 0.865, 0.657),
    "fear": (0.073, 0.840, 0.293),
    "surprise": (0.875, 0.875, 0.562),
    "disgust": (0.052, 0.775, 0.317),
    "trust": (0.888, 0.547, 0.741),
    "anticipation": (0.698, 0.539, 0.711),
    "admiration": (0.969, 0.583, 0.726),
    "amusement": (0.929, 0.837, 0.803),
    "annoyance": (0.167, 0.718, 0.342),
    "approval": (0.854, 0.460, 0.889),
    "caring": (0.635, 0.469, 0.500),
    "confusion": (0.255, 0.667, 0.277),
    "curiosity": (0.750, 0.755, 0.463),
    "desire": (0.896, 0.692, 0.647),
    "disappointment": (0.115, 0.490, 0.336),
    "disapproval": (0.085, 0.551, 0.367),
    "embarrassment": (0.143, 0.685, 0.226),
    "excitement": (0.896, 0.684, 0.731),
    "gratitude": (0.885, 0.441, 0.610),
    "grief": (0.070, 0.640, 0.474),
    "love": (1.000, 0.519, 0.673),
    "nervousness": (0.163, 0.915, 0.241),
    "optimism": (0.949, 0.565, 0.814),
    "pride": (0.729, 0.634, 0.848),
    "realization": (0.554, 0.510, 0.836),
    "relief": (0.844, 0.278, 0.481),
    "remorse": (0.103, 0.673, 0.377),
}

VAD_SOURCE = "NRC-VAD Lexicon v1.0 (Mohammad 2018); PAD dimensions after Russell & Mehrabian (1977)"


def vad(label: str) -> np.ndarray:
    """The (valence, arousal, dominance) of `label` in [0, 1]^3."""
    try:
        return np.array(VAD[label], dtype=float)
    except KeyError:
        raise KeyError(f"no VAD coordinates for emotion label '{label}'") from None


def centered(label: str) -> np.ndarray:
    """The coordinates of `label` on Russell & Mehrabian's [-1, 1] scale."""
    return 2.0 * vad(label) - 1.0


def matrix(labels: Iterable[str], centre: bool = False) -> np.ndarray:
    """An (n, 3) array of the labels' coordinates (centred to [-1, 1] if `centre`)."""
    m = np.array([VAD[x] for x in labels], dtype=float)
    return 2.0 * m - 1.0 if centre else m


def expected(distribution: Mapping[str, float], centre: bool = False) -> np.ndarray:
    """The probability-weighted mean coordinates of a label distribution."""
    labels = [k for k, p in distribution.items() if p > 0 and k in VAD]
    if not labels:
        point = vad("neutral")
    else:
        w = np.array([float(distribution[k]) for k in labels])
        point = (w / w.sum()) @ matrix(labels)
    return 2.0 * point - 1.0 if centre else point


def nearest(point: np.ndarray, labels: Iterable[str], centre: bool = False) -> str:
    """The label of `labels` closest (Euclidean) to `point`; ties go to the earlier label."""
    labels = list(labels)
    d = np.linalg.norm(matrix(labels, centre) - np.asarray(point, dtype=float), axis=1)
    return labels[int(np.argmin(d))]
