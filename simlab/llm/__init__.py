"""LLM backends behind one protocol (`LLMBackend`), plus cache and repair wrappers."""
from __future__ import annotations

from simlab.llm.base import BACKENDS, ChatRequest, ChatResponse, LLMBackend

__all__ = ["BACKENDS", "ChatRequest", "ChatResponse", "LLMBackend"]
