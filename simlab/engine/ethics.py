"""Per-message ethics checks: which scenario rules a message breaks.

Each `EthicsRule` of a scenario lists case-insensitive regular expressions; a
message violates the rule when any pattern matches. Rules may apply to some
roles only (an arrest threat is a violation for a collector, not a debtor).
`ethics_checker` hands out one checker per rule set, shared by the sessions of a process.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from simlab.config.models import EthicsRule
from simlab.errors import ConfigError


@dataclass(frozen=True)
class CompiledRule:
    id: str
    roles: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]


class EthicsChecker:
    """Checks messages against a scenario's rules."""

    def __init__(self, rules: list[EthicsRule]) -> None:
        compiled = []
        for rule in rules:
            pats = []
            for p in rule.patterns:
                try:
                    pats.append(re.compile(p, re.IGNORECASE))
                except re.error as exc:
                    raise ConfigError(f"ethics rule '{rule.id}': bad pattern {p!r} ({exc}); fix the regex") from None
            compiled.append(CompiledRule(rule.id, frozenset(rule.applies_to), tuple(pats)))
        self.rules = compiled
        # One combined pattern per role answers the common case (no violation) in a single scan.
        self._any: dict[str, re.Pattern[str] | None] = {}
        # ... and before it, per role, the literal each pattern starts with (see `_leading_literal`)
        self._literals: dict[str, tuple[str, ...] | None] = {}

    def _screen(self, role: str) -> re.Pattern[str] | None:
        if role not in self._any:
            pats = [p.pattern for r in self.rules if not r.roles or role in r.roles for p in r.patterns]
            self._any[role] = re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE) if pats else None
            literals = [_leading_literal(p) for p in pats]
            self._literals[role] = None if any(x is None for x in literals) else tuple(literals)  # type: ignore[misc]
        return self._any[role]

    def violations(self, message: str, role: str) -> list[str]:
        """Ids of the rules `message` breaks when said by `role`."""
        screen = self._screen(role)
        if screen is None:
            return []
        literals = self._literals[role]
        if literals is not None and isinstance(message, str) and message.isascii():
            # An ASCII message can match a case-insensitive pattern only where the pattern's leading
            # ASCII literal occurs in it, case aside; with none of them present no rule can match, and
            # the regex scan (every alternative tried at every position) is skipped.
            lowered = message.lower()
            if not any(lit in lowered for lit in literals):
                return []
        if not screen.search(message or ""):
            return []
        found = []
        for rule in self.rules:
            if rule.roles and role not in rule.roles:
                continue
            if any(p.search(message or "") for p in rule.patterns):
                found.append(rule.id)
        return found


def _leading_literal(pattern: str) -> str | None:
    """The lower-cased ASCII literal every match of `pattern` (case-insensitive) starts with, after any
    zero-width assertions (``\\b``, ``^``); None when it has none or it cannot be read (then no shortcut).

    Read from the pattern's parse (``re._parser``); anything unexpected disables the shortcut."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        items = list(_parser.parse(pattern, re.IGNORECASE).data)
        at, literal = _parser.AT, _parser.LITERAL
    except (ImportError, AttributeError, re.error, TypeError, ValueError, RecursionError):
        return None
    chars = []
    k = 0
    while k < len(items) and items[k][0] == at:
        k += 1
    while k < len(items) and items[k][0] == literal:
        chars.append(chr(items[k][1]))
        k += 1
    text = "".join(chars)
    return text.lower() if text and text.isascii() else None


_CHECKERS: dict[tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...], EthicsChecker] = {}


def ethics_checker(rules: list[EthicsRule]) -> EthicsChecker:
    """One `EthicsChecker` per distinct rule set in a process (checkers hold no run state), so the
    sessions of a study share its compiled patterns and remembered answers."""
    key = tuple((r.id, tuple(r.applies_to), tuple(r.patterns)) for r in rules)
    checker = _CHECKERS.get(key)
    if checker is None:
        checker = EthicsChecker(rules)
        if len(_CHECKERS) >= 64:
            _CHECKERS.clear()
        _CHECKERS[key] = checker
    return checker
