"""Emotion label spaces.

`EKMAN7` is the default space agents express emotions in (Ekman 1992, plus
neutral). Issue-3 work extends this module with Plutchik-8, GoEmotions-28 and
valence-arousal-dominance coordinates.
"""
from __future__ import annotations

EKMAN7: tuple[str, ...] = ("neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust")
DEFAULT_SPACE = EKMAN7
