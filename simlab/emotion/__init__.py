"""Emotion label spaces, VAD coordinates, mappings between spaces and detectors.

Modules: `labels` (Ekman-7, Plutchik-8, GoEmotions-28), `vad` (NRC-VAD
coordinates), `mapping` (distributions between spaces), `detectors`
(`EmotionDetector`, `DETECTORS`: lexicon, LLM judge, Hugging Face classifier).
"""
from __future__ import annotations

from simlab.emotion.labels import DEFAULT_SPACE, EKMAN7, GOEMOTIONS28, PLUTCHIK8, SPACES, get_space

__all__ = ["DEFAULT_SPACE", "EKMAN7", "GOEMOTIONS28", "PLUTCHIK8", "SPACES", "get_space"]
