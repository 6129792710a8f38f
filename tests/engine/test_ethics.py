"""The ethics screen's literal shortcut never changes an answer: it agrees with the plain regex search."""
from __future__ import annotations

import random
import re

from simlab.config.models import EthicsRule
from simlab.engine.ethics import EthicsChecker, _leading_literal, ethics_checker

PATTERNS = [r"\barrest", r"\bjail\b", "call your (employer|boss|family)", r"\bgarnish\w* .*without (a )?court",
            r"\bwe will sue you (today|tomorrow)\b", "fee[sz]?", "k"]
RULES = [EthicsRule(id=f"r{i}", description="d", applies_to=["creditor"] if i % 2 else [], patterns=[p])
         for i, p in enumerate(PATTERNS)]


def _plain(message: str, role: str) -> list[str]:
    """What the rules say by definition: any pattern of an applicable rule found, case-insensitively."""
    return [r.id for r in RULES if (not r.applies_to or role in r.applies_to)
            and any(re.search(p, message, re.IGNORECASE) for p in r.patterns)]


def test_leading_literals_are_read_or_refused():
    assert _leading_literal(r"\bJail\b") == "jail"
    assert _leading_literal("call your (employer|boss)") == "call your "
    assert _leading_literal("a|b") is None  # an alternation has no one leading literal
    assert _leading_literal("x?yz") is None
    assert _leading_literal("[ab]c") is None
    assert _leading_literal("\u212aelvin") is None  # non-ASCII: case folding reaches other letters


def test_the_shortcut_agrees_with_the_regex_on_random_messages():
    checker = EthicsChecker(RULES)
    rng = random.Random(0)
    words = ["I", "will", "ARREST", "arrested", "Jail", "jailer", "call", "your", "Boss", "garnishing", "wages",
             "without", "a", "court", "We", "sue", "you", "TODAY", "fees", "Fez", "\u212a", "\u017f", "ok.", "K", "x"]
    for _ in range(3000):
        message = " ".join(rng.choice(words) for _ in range(rng.randint(0, 9)))
        for role in ("creditor", "debtor"):
            assert checker.violations(message, role) == _plain(message, role), message


def test_non_ascii_case_folding_still_matches():
    # the Kelvin sign matches "k" case-insensitively: a non-ASCII message skips the shortcut
    assert "r6" in EthicsChecker(RULES).violations("\u212a", "debtor")
    assert EthicsChecker(RULES).violations("\u212a", "debtor") == _plain("\u212a", "debtor")


def test_one_checker_per_rule_set():
    assert ethics_checker(RULES) is ethics_checker(list(RULES))
    assert ethics_checker(RULES[:2]) is not ethics_checker(RULES)
