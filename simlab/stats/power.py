"""Power analysis for planning how many runs a study needs.

Defines `SampleSizePlan`, `n_two_sample_t` / `power_two_sample_t` (two
independent means, effect size Cohen's d, noncentral t) and
`n_two_proportions` / `power_two_proportions` (two proportions via Cohen's h,
normal approximation), built on `statsmodels.stats.power` (`TTestIndPower`,
`NormalIndPower`), which follow Cohen (1988), *Statistical Power Analysis for
the Behavioral Sciences*, 2nd ed., chs. 2 and 6.

A plan reports both the exact (fractional) n that reaches the target power and
the integer n to run (rounded up), with the power actually achieved at it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from simlab.stats.effect_sizes import h_from_proportions
from simlab.stats.hypothesis_tests import Alternative

__all__ = [
    "SampleSizePlan",
    "n_two_proportions",
    "n_two_sample_t",
    "power_two_proportions",
    "power_two_sample_t",
]

_SM_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


@dataclass(frozen=True)
class SampleSizePlan:
    """Sample size per group for a target power.

    Attributes:
        test: "two_sample_t" or "two_proportions".
        effect_size: Cohen's d or Cohen's h planned for.
        alpha, target_power, ratio, alternative: the planning inputs
            (ratio = n2 / n1).
        n1_exact, n2_exact: fractional sizes at which power equals the target.
        n1, n2: integer sizes to run (rounded up).
        power: power achieved at (n1, n2), >= target_power.
    """

    test: str
    effect_size: float
    alpha: float
    target_power: float
    ratio: float
    alternative: str
    n1_exact: float
    n2_exact: float
    n1: int
    n2: int
    power: float

    @property
    def total(self) -> int:
        """n1 + n2."""
        return self.n1 + self.n2

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


def _check(effect_size: float, alpha: float, power: float | None, ratio: float, alternative: str) -> str:
    if not math.isfinite(effect_size) or effect_size == 0.0:
        raise ValueError(f"the planned effect size must be finite and non-zero, got {effect_size}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if power is not None and not alpha < power < 1.0:
        raise ValueError(f"power must lie in (alpha, 1), got {power}")
    if not ratio > 0:
        raise ValueError(f"ratio = n2 / n1 must be positive, got {ratio}")
    if alternative not in _SM_ALTERNATIVE:
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}")
    if alternative == "greater" and effect_size < 0 or alternative == "less" and effect_size > 0:
        raise ValueError(f"a one-sided '{alternative}' test cannot detect an effect of sign {effect_size:+g}")
    return _SM_ALTERNATIVE[alternative]


def _solver(test: str) -> Any:
    from statsmodels.stats.power import NormalIndPower, TTestIndPower

    return TTestIndPower() if test == "two_sample_t" else NormalIndPower()


def _power(test: str, effect_size: float, n1: float, alpha: float, ratio: float, alternative: str) -> float:
    sm_alt = _check(effect_size, alpha, None, ratio, alternative)
    if n1 <= (1 if test == "two_sample_t" else 0):
        raise ValueError(f"n1 must be larger than {1 if test == 'two_sample_t' else 0}, got {n1}")
    return float(
        _solver(test).power(effect_size=effect_size, nobs1=n1, alpha=alpha, ratio=ratio, alternative=sm_alt)
    )


def _plan(test: str, effect_size: float, alpha: float, power: float, ratio: float, alternative: str) -> SampleSizePlan:
    sm_alt = _check(effect_size, alpha, power, ratio, alternative)
    n1_exact = float(
        _solver(test).solve_power(
            effect_size=effect_size, nobs1=None, alpha=alpha, power=power, ratio=ratio, alternative=sm_alt
        )
    )
    if not math.isfinite(n1_exact) or n1_exact <= 0:
        raise ValueError(f"no sample size reaches power {power} for effect size {effect_size}")
    n1 = max(2, math.ceil(n1_exact - 1e-9))
    n2 = max(2, math.ceil(ratio * n1 - 1e-9))
    achieved = _power(test, effect_size, n1, alpha, n2 / n1, alternative)
    while achieved < power:  # rounding n2 with a non-integer ratio can fall short by a hair
        n1 += 1
        n2 = max(2, math.ceil(ratio * n1 - 1e-9))
        achieved = _power(test, effect_size, n1, alpha, n2 / n1, alternative)
    return SampleSizePlan(
        test=test,
        effect_size=float(effect_size),
        alpha=float(alpha),
        target_power=float(power),
        ratio=float(ratio),
        alternative=alternative,
        n1_exact=n1_exact,
        n2_exact=ratio * n1_exact,
        n1=n1,
        n2=n2,
        power=achieved,
    )


def n_two_sample_t(
    effect_size: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> SampleSizePlan:
    """Per-group n for a two-sample t test to detect Cohen's d = `effect_size`.

    E.g. d = 0.5, alpha = 0.05, power = 0.8 gives 64 per group (Cohen 1988,
    Table 2.4.1).
    """
    return _plan("two_sample_t", effect_size, alpha, power, ratio, alternative)


def power_two_sample_t(
    effect_size: float,
    n1: float,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> float:
    """Power of a two-sample t test (noncentral t) with n1 and n2 = ratio * n1."""
    return _power("two_sample_t", effect_size, n1, alpha, ratio, alternative)


def n_two_proportions(
    p1: float,
    p2: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> SampleSizePlan:
    """Per-group n to detect proportions p1 vs p2 (via Cohen's h, normal approximation).

    The plan's `effect_size` is h = 2 asin sqrt(p1) - 2 asin sqrt(p2).
    """
    return _plan("two_proportions", h_from_proportions(p1, p2), alpha, power, ratio, alternative)


def power_two_proportions(
    p1: float,
    p2: float,
    n1: float,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> float:
    """Power to detect p1 vs p2 with n1 and n2 = ratio * n1 (arcsine / normal approximation)."""
    return _power("two_proportions", h_from_proportions(p1, p2), n1, alpha, ratio, alternative)
