"""Per-message ethics checks: which scenario rules a message breaks.

Each `EthicsRule` of a scenario lists case-insensitive regular expressions; a
message violates the rule when any pattern matches. Rules may apply to some
roles only (an arrest threat is a violation for a collector, not a debtor).
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

    def _screen(self, role: str) -> re.Pattern[str] | None:
        if role not in self._any:
            pats = [p.pattern for r in self.rules if not r.roles or role in r.roles for p in r.patterns]
            self._any[role] = re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE) if pats else None
        return self._any[role]

    def violations(self, message: str, role: str) -> list[str]:
        """Ids of the rules `message` breaks when said by `role`."""
        screen = self._screen(role)
        if screen is None or not screen.search(message or ""):
            return []
        found = []
        for rule in self.rules:
            if rule.roles and role not in rule.roles:
                continue
            if any(p.search(message or "") for p in rule.patterns):
                found.append(rule.id)
        return found
