"""Deterministic template wording of a negotiation move.

Used by the scripted backend (which is not an LLM) and as the message of a move
that replaces an unparseable LLM reply. Variants are picked by a seed so
transcripts vary across runs yet reproduce exactly.
"""
from __future__ import annotations

from typing import Any

EMOTION_OPENERS: dict[str, tuple[str, ...]] = {
    "neutral": ("Let's look at the numbers.", "Here is where I stand.", "Thank you for the proposal."),
    "joy": ("I'm glad we're making progress!", "Great, this is moving in a good direction.", "I'm happy to work this out."),
    "sadness": ("This situation has been really hard for me.", "I'm sorry, things have been difficult.", "Honestly, this weighs on me."),
    "anger": ("This is not acceptable.", "I'm frustrated with how this is going.", "Frankly, this offer annoys me."),
    "fear": ("I'm worried about what happens next.", "I'm anxious I can't keep up with this.", "This scares me a bit."),
    "surprise": ("That's unexpected.", "I did not see that coming.", "Well, that's a surprise."),
    "disgust": ("That proposal is hard to stomach.", "I find that offer distasteful.", "That's frankly unreasonable."),
}


def format_offer(offer: dict[str, float], units: dict[str, str] | None = None) -> str:
    units = units or {}
    parts = []
    for name, value in offer.items():
        unit = units.get(name, "")
        if isinstance(value, str):  # a discrete issue's label
            parts.append(f"{name} {value}")
            continue
        shown = f"{value:.0f}" if abs(value - round(value)) < 1e-6 or abs(value) >= 100 else f"{value:.2f}"
        parts.append(f"{name} {shown}{(' ' + unit) if unit else ''}")
    return ", ".join(parts)


def realise(move: dict[str, Any], seed: int, units: dict[str, str] | None = None) -> str:
    """Words for `move` (keys action, offer, emotion) with a seed-chosen opener."""
    emotion = move.get("emotion") or "neutral"
    openers = EMOTION_OPENERS.get(emotion, EMOTION_OPENERS["neutral"])
    opener = openers[seed % len(openers)]
    action = move.get("action", "offer")
    if action == "accept":
        return f"{opener} I accept your offer."
    if action == "walk_away":
        return f"{opener} I am walking away from this negotiation."
    return f"{opener} I propose {format_offer(move.get('offer') or {}, units)}."
