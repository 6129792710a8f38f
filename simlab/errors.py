"""The simlab error hierarchy.

`SimlabError` and a few subclasses; the CLI turns any of them into one line on
stderr and a non-zero exit code, never a traceback. Each message should say what
is wrong and how to fix it.
"""
from __future__ import annotations


class SimlabError(Exception):
    """Base class of every error a user can cause and fix."""

    exit_code = 1


class ConfigError(SimlabError):
    """A scenario, agent, study or CLI argument is invalid."""

    exit_code = 2


class BackendUnavailable(SimlabError):
    """An LLM backend cannot run: missing package, model file or unreachable server."""

    exit_code = 3


class StoreError(SimlabError):
    """The run store cannot be opened, read or written."""

    exit_code = 4


class ParseError(SimlabError):
    """An LLM reply does not match the requested schema."""
