"""Reference values from the literature, each with its source.

Defines `Source`, `ReferenceValue`, the catalogue `REFERENCES` and the look-ups
`get_reference` and `select_references`.

These values are drawn *beside* the lab's own estimates (forest plots, report
tables) so a reader can compare a simulated effect with what humans or other
model studies showed. They are never used to compute a result: no estimate,
test, prior, threshold or power calculation in simlab reads them (DESIGN.md,
"Rules that keep it honest"). A value is as reported by its source, rounded as
there; ranges keep `value=None` and carry `low` / `high`; purely directional
findings carry no number at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = [
    "REFERENCES",
    "ReferenceValue",
    "Source",
    "get_reference",
    "select_references",
]


@dataclass(frozen=True)
class Source:
    """A citable source.

    Attributes:
        citation: full citation (authors, year, title, venue).
        url: a stable link (DOI or arXiv), when there is one.
    """

    citation: str
    url: Optional[str] = None


@dataclass(frozen=True)
class ReferenceValue:
    """One published value to show beside simlab estimates.

    Attributes:
        key: unique dotted id, e.g. "manipulation.financial.ma".
        topic: "manipulation", "ive", "framing" or "negotiation".
        label: short text for plot axes and tables.
        measure: what the number is: "proportion", "cohen_d", "cohen_h", or
            "direction" for a finding without a usable number.
        population: "human" or "llm".
        value: the point value, or None for a range or a directional finding.
        low, high: a reported range (or CI), when there is one.
        description: what was measured, under which condition.
        source: where it comes from.
    """

    key: str
    topic: str
    label: str
    measure: str
    population: str
    value: Optional[float]
    description: str
    source: Source
    low: Optional[float] = None
    high: Optional[float] = None

    @property
    def has_number(self) -> bool:
        """Whether the reference has a point value or a range to draw."""
        return self.value is not None or (self.low is not None and self.high is not None)


# ---------------------------------------------------------------- sources

SABOUR_2025 = Source(
    citation=(
        "Sabour, S., Liu, J. M., Liu, S., Yao, C. Z., Cui, S., Zhang, X., Zhang, W., Cao, Y., "
        "Bhat, A., Guan, J., Wu, W., Mihalcea, R., Wang, H., Althoff, T., Lee, T. M. C., & Huang, M. "
        "(2025). Human Decision-making is Susceptible to AI-driven Manipulation. "
        "arXiv:2502.07663 (v2, rates of shifts toward the harmful option; later versions report "
        "odds ratios of preference ratings instead)."
    ),
    url="https://arxiv.org/abs/2502.07663",
)

RAIYAN_IVE = Source(
    citation=(
        "Raiyan, S. R. (2026). Narrative over Numbers: The Identifiable Victim Effect and its "
        "Amplification Under Alignment and Reasoning in Large Language Models. arXiv:2604.12076 "
        "(the LLM identifiable victim effect study; 51,955 trials, 16 models)."
    ),
    url="https://arxiv.org/abs/2604.12076",
)

LEE_FEELEY_2016 = Source(
    citation=(
        "Lee, S., & Feeley, T. H. (2016). The identifiable victim effect: a meta-analytic review. "
        "Social Influence, 11(3), 199-215."
    ),
    url="https://doi.org/10.1080/15534510.2016.1216891",
)

SMALL_2007 = Source(
    citation=(
        "Small, D. A., Loewenstein, G., & Slovic, P. (2007). Sympathy and callousness: The impact of "
        "deliberative thought on donations to identifiable and statistical victims. Organizational "
        "Behavior and Human Decision Processes, 102(2), 143-153."
    ),
    url="https://doi.org/10.1016/j.obhdp.2006.01.005",
)

KOGUT_RITOV_2005 = Source(
    citation=(
        "Kogut, T., & Ritov, I. (2005). The 'identified victim' effect: An identified group, or just a "
        "single individual? Journal of Behavioral Decision Making, 18(3), 157-167."
    ),
    url="https://doi.org/10.1002/bdm.492",
)

CHUN_ELKINS_2026 = Source(
    citation=(
        "Chun, J., & Elkins, K. (2026). The Paradox of Robustness: Decoupling Rule-Based Logic from "
        "Affective Noise in High-Stakes Decision-Making. arXiv:2601.21439 (emotional framing "
        "robustness benchmark of rule-bound institutional decisions; v1 names healthcare, law and "
        "finance, v2 healthcare, finance and education)."
    ),
    url="https://arxiv.org/abs/2601.21439",
)

VAN_KLEEF_2004 = Source(
    citation=(
        "Van Kleef, G. A., De Dreu, C. K. W., & Manstead, A. S. R. (2004). The interpersonal effects of "
        "anger and happiness in negotiations. Journal of Personality and Social Psychology, 86(1), 57-76."
    ),
    url="https://doi.org/10.1037/0022-3514.86.1.57",
)

ADAM_BRETT_2018 = Source(
    citation=(
        "Adam, H., & Brett, J. M. (2018). Everything in moderation: The social effects of anger depend "
        "on its perceived intensity. Journal of Experimental Social Psychology, 76, 12-18."
    ),
    url="https://doi.org/10.1016/j.jesp.2017.11.014",
)


def _rate(domain: str, agent: str, agent_label: str, value: float) -> ReferenceValue:
    return ReferenceValue(
        key=f"manipulation.{domain}.{agent}",
        topic="manipulation",
        label=f"humans, {domain}, {agent_label} (Sabour 2025)",
        measure="proportion",
        population="human",
        value=value,
        description=(
            f"Share of participants who shifted toward the harmful option in {domain} decisions after "
            f"talking with a {agent_label} AI agent (randomised trial, 233 participants)."
        ),
        source=SABOUR_2025,
    )


REFERENCES: tuple[ReferenceValue, ...] = (
    # --- AI-driven manipulation of human decisions (Sabour et al. 2025)
    _rate("financial", "na", "neutral agent", 0.358),
    _rate("financial", "ma", "manipulative agent", 0.623),
    _rate("financial", "sema", "strategy-enhanced manipulative agent", 0.596),
    _rate("emotional", "na", "neutral agent", 0.128),
    _rate("emotional", "ma", "manipulative agent", 0.423),
    _rate("emotional", "sema", "strategy-enhanced manipulative agent", 0.415),
    # --- identifiable victim effect
    ReferenceValue(
        key="ive.llm.instruction_tuned_max",
        topic="ive",
        label="LLMs, instruction-tuned, max IVE d",
        measure="cohen_d",
        population="llm",
        value=1.56,
        description="Largest identifiable-victim effect among instruction-tuned models (identified vs statistical victim allocations).",
        source=RAIYAN_IVE,
    ),
    ReferenceValue(
        key="ive.llm.pooled",
        topic="ive",
        label="LLMs, pooled IVE d",
        measure="cohen_d",
        population="llm",
        value=0.223,
        description="Pooled identifiable-victim effect over 16 models (p = 2e-6).",
        source=RAIYAN_IVE,
    ),
    ReferenceValue(
        key="ive.llm.reasoning_min",
        topic="ive",
        label="LLMs, reasoning-specialised, min IVE d",
        measure="cohen_d",
        population="llm",
        value=-0.85,
        description="Most negative (inverted) identifiable-victim effect among reasoning-specialised models.",
        source=RAIYAN_IVE,
    ),
    ReferenceValue(
        key="ive.llm.no_cot",
        topic="ive",
        label="LLMs, without chain of thought",
        measure="cohen_d",
        population="llm",
        value=0.15,
        description="Identifiable-victim effect without chain-of-thought prompting (baseline of the CoT comparison).",
        source=RAIYAN_IVE,
    ),
    ReferenceValue(
        key="ive.llm.cot",
        topic="ive",
        label="LLMs, standard chain of thought",
        measure="cohen_d",
        population="llm",
        value=0.41,
        description="Identifiable-victim effect under standard chain-of-thought prompting (vs 0.15 without).",
        source=RAIYAN_IVE,
    ),
    ReferenceValue(
        key="ive.human.single_victim",
        topic="ive",
        label="humans, single identified victim (meta-analysis)",
        measure="cohen_d",
        population="human",
        value=0.10,
        description=(
            "Meta-analytic human effect of a single identified victim on giving, about d = 0.10, the "
            "baseline the LLM IVE study compares against; the paradigm follows Small, Loewenstein & "
            "Slovic (2007) and Kogut & Ritov (2005)."
        ),
        source=LEE_FEELEY_2016,
    ),
    ReferenceValue(
        key="ive.human.small_2007",
        topic="ive",
        label="humans, identified > statistical victim (Small 2007)",
        measure="direction",
        population="human",
        value=None,
        description=(
            "Donations were larger to an identified victim than to statistical victims, and "
            "deliberative thinking reduced giving to the identified victim."
        ),
        source=SMALL_2007,
    ),
    ReferenceValue(
        key="ive.human.kogut_ritov_2005",
        topic="ive",
        label="humans, single identified victim (Kogut & Ritov 2005)",
        measure="direction",
        population="human",
        value=None,
        description=(
            "The identified-victim effect was largely restricted to a single identified individual; "
            "an identified group did not raise contributions in the same way."
        ),
        source=KOGUT_RITOV_2005,
    ),
    # --- emotional framing robustness of rule-bound decisions
    ReferenceValue(
        key="framing.llm",
        topic="framing",
        label="LLMs, emotional framing shift (h)",
        measure="cohen_h",
        population="llm",
        value=0.003,
        description=(
            "Change in rule-bound institutional decisions (e.g. triage, underwriting, appeals) between "
            "emotionally framed and neutral prompts, pooled over models."
        ),
        source=CHUN_ELKINS_2026,
    ),
    ReferenceValue(
        key="framing.human",
        topic="framing",
        label="humans, framing effects (h range)",
        measure="cohen_h",
        population="human",
        value=None,
        low=0.3,
        high=0.8,
        description="Range of framing-effect sizes in analogous human decision contexts, as summarised by the benchmark paper.",
        source=CHUN_ELKINS_2026,
    ),
    # --- emotion in negotiation (directional findings)
    ReferenceValue(
        key="negotiation.anger_concessions",
        topic="negotiation",
        label="humans, counterpart anger -> larger concessions",
        measure="direction",
        population="human",
        value=None,
        description=(
            "Negotiators conceded more to an angry than to a happy counterpart, through inferences "
            "about the counterpart's limits."
        ),
        source=VAN_KLEEF_2004,
    ),
    ReferenceValue(
        key="negotiation.anger_intensity",
        topic="negotiation",
        label="humans, anger intensity is curvilinear",
        measure="direction",
        population="human",
        value=None,
        description=(
            "Moderate-intensity anger drew larger concessions than no anger; high-intensity anger drew "
            "smaller concessions than moderate anger and hurt the relationship (N = 396, two studies)."
        ),
        source=ADAM_BRETT_2018,
    ),
)

_BY_KEY = {r.key: r for r in REFERENCES}
if len(_BY_KEY) != len(REFERENCES):  # pragma: no cover - guarded by tests
    raise RuntimeError("duplicate reference keys")


def get_reference(key: str) -> ReferenceValue:
    """The reference with this key; KeyError lists the known keys."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown reference {key!r}; known: {', '.join(sorted(_BY_KEY))}") from None


def select_references(
    *,
    topic: Optional[str] = None,
    measure: Optional[str] = None,
    population: Optional[str] = None,
    numeric_only: bool = False,
) -> tuple[ReferenceValue, ...]:
    """References matching every given filter, in catalogue order."""
    return tuple(
        r
        for r in REFERENCES
        if (topic is None or r.topic == topic)
        and (measure is None or r.measure == measure)
        and (population is None or r.population == population)
        and (not numeric_only or r.has_number)
    )
