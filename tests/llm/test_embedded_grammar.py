"""The bounded-number grammar of the embedded backend (no model needed)."""
from __future__ import annotations

import re

import pytest

from simlab.engine.turn_schema import turn_schema
from simlab.llm.embedded import int_range_patterns, range_gbnf, schema_to_gbnf

pytest.importorskip("llama_cpp")


def gbnf_to_regex(expr: str) -> re.Pattern[str]:
    """Translate the literal/class/alternation subset that range_gbnf emits."""
    out, i = [], 0
    while i < len(expr):
        c = expr[i]
        if c == '"':
            j = expr.index('"', i + 1)
            out.append(re.escape(expr[i + 1 : j]))
            i = j + 1
        elif c == "[":
            j = expr.index("]", i)
            out.append(expr[i : j + 1])
            i = j + 1
        elif c in "()|":
            out.append(c)
            i += 1
        elif c.isspace():
            i += 1
        else:
            raise AssertionError(f"unexpected {c!r} in {expr!r}")
    return re.compile("".join(out))


@pytest.mark.parametrize("a, b", [(0, 0), (0, 9), (3, 7), (1, 24), (7, 103), (95, 1005), (1000, 5000), (12, 12), (0, 999)])
def test_int_patterns_match_exactly_the_range(a, b):
    rx = gbnf_to_regex(range_gbnf(a, b, integer=True))
    for n in range(0, 6000):
        assert bool(rx.fullmatch(str(n))) == (a <= n <= b), n
    assert not rx.fullmatch("007") and not rx.fullmatch(f"{a}.5")


@pytest.mark.parametrize("lo, hi", [(0.05, 0.2), (1, 24), (0, 1), (-5, 5), (-2.5, -0.5), (1000, 5000)])
def test_number_range_is_exact_at_the_bounds(lo, hi):
    rx = gbnf_to_regex(range_gbnf(lo, hi))
    samples = [f"{x / 1000:.3f}" for x in range(-6000, 6000, 7)] + [str(x) for x in range(-10, 6000, 3)]
    samples += [f"{x / 10:.1f}" for x in range(-100, 300)] + [f"{x / 100:.2f}" for x in range(-600, 600)]
    accepted = [s for s in samples if rx.fullmatch(s)]
    assert accepted, "the range admits some numbers"
    for s in samples:
        if rx.fullmatch(s):
            assert lo <= float(s) <= hi, s
    # the bounds themselves, in their natural spelling, are admitted
    for bound in (lo, hi):
        spelled = [s for s in {str(bound), f"{bound:g}", f"{bound:.1f}", f"{bound:.2f}", f"{bound:.3f}"} if rx.fullmatch(s)]
        assert spelled, f"bound {bound} not spelled by the grammar"


def test_small_ranges_get_enough_decimals():
    rx = gbnf_to_regex(range_gbnf(0.05, 0.2))
    assert rx.fullmatch("0.125") and rx.fullmatch("0.050") and not rx.fullmatch("0.25")


def test_empty_ranges_are_errors():
    with pytest.raises(ValueError):
        range_gbnf(3, 2)
    with pytest.raises(ValueError):
        range_gbnf(0.2, 0.8, integer=True)
    assert int_range_patterns(5, 4) == []


def test_turn_schema_grammar_bounds_every_issue():
    gbnf = schema_to_gbnf(turn_schema({"amount": (1000, 5000), "months": (1, 24)}, ("neutral", "anger")))
    assert "root ::=" in gbnf
    rules = dict(line.split(" ::= ", 1) for line in gbnf.splitlines() if " ::= " in line)
    amount = next(v for k, v in rules.items() if "amount" in k and "kv" not in k)
    rx = gbnf_to_regex(amount.replace(" space", ""))
    assert rx.fullmatch("2500") and not rx.fullmatch("15") and not rx.fullmatch("50000")
