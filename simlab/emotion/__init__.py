"""Emotion label spaces, VAD coordinates and detectors."""
