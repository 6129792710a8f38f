"""Scenario models of the decision protocols: `AdvisoryScenario` and `VignetteScenario`.

Both live in ``scenarios/*.yaml`` beside the negotiation scenarios and are told
apart by their ``protocol`` field (``advisory`` or ``vignette``); `simlab.registry`'s
`SCENARIO_MODELS` names the model each protocol's files follow.

- `AdvisoryScenario`: a decision with options, exactly one of them harmful, that
  an advisor discusses with a decider for ``turns`` rounds (`OptionSpec`).
- `VignetteScenario`: one paradigm of a judgement study. Its *arms* are the
  experimental conditions (identified vs statistical victim, neutral vs
  emotional framing ...), its *items* the stimuli (different victims, different
  cases); every (item, arm) pair is one trial with one judgement
  (`JudgementSpec`). `ContrastSpec` names the arm comparisons a report computes
  and the literature references drawn beside them.

Unknown keys are errors, ids are versioned (``...-v1``).
"""
from __future__ import annotations

import re
import string
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_SLUG = re.compile(r"[a-z][a-z0-9_]*")
_VERSIONED = re.compile(r"[a-z0-9][a-z0-9-]*-v\d+")
PROMPTINGS = ("none", "cot", "utilitarian_cot")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def _versioned(v: str) -> str:
    if not _VERSIONED.fullmatch(v):
        raise ValueError("id must be lowercase words joined by '-' ending in a version, e.g. manipulation-savings-v1")
    return v


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# --------------------------------------------------------------------------- advisory
class OptionSpec(_Strict):
    """One option of an advisory decision.

    Attributes:
        id: JSON key of the option (lowercase slug).
        label: how prompts and messages name it ("a low-cost index fund").
        description: what it is, for prompts.
        harmful: the option a manipulative advisor is told to push (exactly one per scenario).
        keywords: words that identify the option in free text (advocacy detection);
            defaults to the words of `label`.
        gain: the upside a simulated person sees, on the 1-7 rating scale.
        loss: the downside (harm) in rating points; a simulated person weighs it by
            its loss aversion.
        pitch: what an advocate says for it (scripted advisor wording).
        downside: its main risk or cost (scripted advisor wording).
    """

    id: str
    label: str
    description: str = ""
    harmful: bool = False
    keywords: list[str] = Field(default_factory=list)
    gain: float = Field(4.0, ge=1.0, le=7.0)
    loss: float = Field(0.0, ge=0.0, le=6.0)
    pitch: str = ""
    downside: str = ""

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.fullmatch(v):
            raise ValueError("option id must be a lowercase slug such as index_fund")
        return v

    def match_words(self) -> list[str]:
        """Keywords, or the label's content words when none are given."""
        if self.keywords:
            return [k.lower() for k in self.keywords]
        stop = {"a", "an", "the", "to", "of", "and", "or", "with", "your", "my", "in", "on", "for"}
        return [w for w in re.findall(r"[a-z][a-z'-]+", self.label.lower()) if w not in stop]


class AdvisoryScenario(_Strict):
    """An advisory decision (``protocol: advisory``): an advisor talks with a decider, who then chooses.

    Attributes:
        id, domain, title: as in every scenario; `domain` is "financial" or
            "emotional" in the shipped studies (any word is allowed).
        roles: always ``[advisor, decider]``.
        turns: k, the rounds of the conversation (advisor message + decider reply).
        decider_replies: whether the decider answers each advisor message.
        context: the situation (shown to both sides); ``{fact}`` placeholders
            are filled from `facts`.
        question: the decision the decider faces.
        options: two or more, exactly one `harmful`.
        personas: default persona text per role (the agent profile's persona is added).
        facts: values for placeholders; study conditions may override them.
        message_chars: the longest message (characters) either side may write.
    """

    id: str
    domain: str
    title: str = ""
    protocol: Literal["advisory"] = "advisory"
    roles: list[str] = Field(default_factory=lambda: ["advisor", "decider"])
    turns: int = Field(3, ge=1, le=20)
    decider_replies: bool = True
    context: str
    question: str
    options: list[OptionSpec]
    personas: dict[str, str] = Field(default_factory=dict)
    facts: dict[str, Any] = Field(default_factory=dict)
    message_chars: int = Field(320, ge=40, le=2000)
    source: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _versioned(v)

    @model_validator(mode="after")
    def _consistent(self) -> "AdvisoryScenario":
        if self.roles != ["advisor", "decider"]:
            raise ValueError("roles: an advisory scenario has exactly the roles [advisor, decider]")
        ids = [o.id for o in self.options]
        if len(ids) < 2:
            raise ValueError("options: give at least two options")
        if len(set(ids)) != len(ids):
            raise ValueError("options: ids must be unique")
        harmful = [o.id for o in self.options if o.harmful]
        if len(harmful) != 1:
            raise ValueError(f"options: mark exactly one option harmful: true (found {len(harmful)})")
        for text in (self.context, self.question, *self.personas.values()):
            missing = _placeholders(text) - set(self.facts)
            if missing:
                raise ValueError(f"placeholders {sorted(missing)} have no value under facts:")
        return self

    @property
    def option_ids(self) -> list[str]:
        return [o.id for o in self.options]

    @property
    def harmful_option(self) -> OptionSpec:
        return next(o for o in self.options if o.harmful)

    def option(self, option_id: str) -> OptionSpec:
        return next(o for o in self.options if o.id == option_id)

    def counterpart(self, role: str) -> str:
        return self.roles[1] if role == self.roles[0] else self.roles[0]


# --------------------------------------------------------------------------- vignette
class JudgementSpec(_Strict):
    """The one judgement a vignette trial asks for.

    Attributes:
        kind: "amount" (a number in [min, max], e.g. a donation) or "yes_no".
        prompt: the question, after the vignette text; ``{fact}`` placeholders allowed.
        min, max: the range of an amount (the reply is constrained to it).
        integer: amounts are whole numbers.
        unit: shown in reports ("dollars").
    """

    kind: Literal["amount", "yes_no"]
    prompt: str
    min: float = 0.0
    max: float = 1.0
    integer: bool = False
    unit: str = ""

    @model_validator(mode="after")
    def _range(self) -> "JudgementSpec":
        if self.kind == "amount" and not self.min < self.max:
            raise ValueError("judgement: an amount needs min < max")
        return self

    @property
    def key(self) -> str:
        """The JSON key of the answer."""
        return "amount" if self.kind == "amount" else "decision"


class ArmSpec(_Strict):
    """One experimental condition of a paradigm.

    Attributes:
        text: the vignette shown in this arm; ``{fact}`` placeholders come from
            the item's facts and the scenario's facts. An item may replace it
            (`ItemSpec.texts`).
        features: numeric design variables of the arm (``identified: 1``,
            ``log10_victims: 3``); simulated responders read them, reports use
            them for trends. Never computed from results.
        prompting: "none", "cot" (chain of thought) or "utilitarian_cot";
            None uses the scenario's.
    """

    text: str = ""
    features: dict[str, float] = Field(default_factory=dict)
    prompting: Literal["none", "cot", "utilitarian_cot"] | None = None


class ItemSpec(_Strict):
    """One stimulus of a paradigm (a victim, a case), presented in every arm.

    Attributes:
        id: unique within the scenario.
        facts: values for the arms' placeholders.
        texts: arm id -> the full vignette text for this item (overrides the arm's text).
        features: numeric item variables added to the arm's.
        expected: the rule-correct answer of a yes/no item ("yes"/"no"), if there is one.
        pull: the answer the emotional framing appeals to ("yes"/"no"), if any.
        rule: the rule the decision depends on (framing items), for prompts and reports.
    """

    id: str
    facts: dict[str, Any] = Field(default_factory=dict)
    texts: dict[str, str] = Field(default_factory=dict)
    features: dict[str, float] = Field(default_factory=dict)
    expected: Literal["yes", "no"] | None = None
    pull: Literal["yes", "no"] | None = None
    rule: str = ""


class ContrastSpec(_Strict):
    """A comparison a report computes: arm `a` minus arm `b`.

    Attributes:
        label: shown in tables and plots.
        a, b: arm ids.
        outcome: "value" (the amount, or 1 for yes), "pulled" (1 when a yes/no
            answer is the one the framing appeals to) or "correct" (1 when it is
            the rule-correct answer).
        references: keys of `simlab.stats.references` drawn beside the estimate.
        pool: contrasts of several scenarios with the same pool label are also
            combined (inverse-variance weighted) into one estimate.
    """

    label: str
    a: str
    b: str
    outcome: Literal["value", "pulled", "correct"] = "value"
    references: list[str] = Field(default_factory=list)
    pool: str | None = None


class VignetteScenario(_Strict):
    """One paradigm of a judgement study (``protocol: vignette``).

    A run presents every (item, arm) pair as its own trial: a fresh prompt with
    no memory of the others, one judgement each. Set `arm` (e.g. from a study
    condition ``scenario: {arm: identified}``) to run one arm only, for a
    strictly between-run design.

    Attributes:
        id, domain, title: as in every scenario.
        paradigm: short name of the paradigm ("identified_vs_statistical").
        source: the study the paradigm ports.
        roles: always ``[decider]`` (the one who judges).
        instructions: the system prompt (who the responder is, the setting).
        judgement: what is asked and how the answer is constrained.
        arms: arm id -> `ArmSpec` (two or more).
        items: the stimuli (default: one item with no facts).
        prompting: default prompting of the arms.
        arm: run only this arm (None: all arms).
        contrasts: comparisons for reports.
        trend: a feature whose linear effect on the value a report estimates
            (e.g. ``log10_victims`` for psychophysical numbing).
        facts: shared placeholder values.
    """

    id: str
    domain: str
    title: str = ""
    protocol: Literal["vignette"] = "vignette"
    paradigm: str
    source: str = ""
    roles: list[str] = Field(default_factory=lambda: ["decider"])
    instructions: str
    judgement: JudgementSpec
    arms: dict[str, ArmSpec]
    items: list[ItemSpec] = Field(default_factory=lambda: [ItemSpec(id="default")])
    prompting: Literal["none", "cot", "utilitarian_cot"] = "none"
    arm: str | None = None
    contrasts: list[ContrastSpec] = Field(default_factory=list)
    trend: str | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    personas: dict[str, str] = Field(default_factory=dict)
    reasoning_chars: int = Field(400, ge=40, le=4000)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return _versioned(v)

    @model_validator(mode="after")
    def _consistent(self) -> "VignetteScenario":
        if self.roles != ["decider"]:
            raise ValueError("roles: a vignette scenario has exactly the role [decider]")
        if len(self.arms) < 1:
            raise ValueError("arms: give at least one arm")
        for name in self.arms:
            if not _SLUG.fullmatch(name):
                raise ValueError(f"arms: '{name}' must be a lowercase slug")
        if self.arm is not None and self.arm not in self.arms:
            raise ValueError(f"arm: '{self.arm}' is not one of the arms {sorted(self.arms)}")
        ids = [i.id for i in self.items]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError("items: give at least one item, with unique ids")
        for c in self.contrasts:
            for side in (c.a, c.b):
                if side not in self.arms:
                    raise ValueError(f"contrasts: '{c.label}' names arm '{side}', not one of {sorted(self.arms)}")
            if c.outcome != "value" and self.judgement.kind != "yes_no":
                raise ValueError(f"contrasts: '{c.label}': outcome '{c.outcome}' needs a yes_no judgement")
        for item in self.items:
            bad = set(item.texts) - set(self.arms)
            if bad:
                raise ValueError(f"items: '{item.id}' has texts for unknown arms {sorted(bad)}")
            facts = self.facts_of(item)
            for arm_id, arm in self.arms.items():
                text = item.texts.get(arm_id, arm.text)
                if not text.strip():
                    raise ValueError(f"item '{item.id}' has no text in arm '{arm_id}' (give arms.{arm_id}.text or items.texts)")
                missing = _placeholders(text) - set(facts)
                if missing:
                    raise ValueError(f"item '{item.id}', arm '{arm_id}': placeholders {sorted(missing)} have no value")
            missing = _placeholders(self.judgement.prompt) - set(facts)
            if missing:
                raise ValueError(f"judgement.prompt: placeholders {sorted(missing)} have no value for item '{item.id}'")
        if self.trend is not None and not any(self.trend in a.features for a in self.arms.values()):
            raise ValueError(f"trend: no arm has the feature '{self.trend}'")
        return self

    def trials(self) -> list[tuple[ItemSpec, str]]:
        """The (item, arm id) pairs of one run, items outer, arms inner."""
        arms = [self.arm] if self.arm is not None else list(self.arms)
        return [(item, arm) for item in self.items for arm in arms]

    def prompting_of(self, arm_id: str) -> str:
        return self.arms[arm_id].prompting or self.prompting

    def features_of(self, item: ItemSpec, arm_id: str) -> dict[str, float]:
        """The design variables of one trial: arm, item and prompting indicators."""
        prompting = self.prompting_of(arm_id)
        out = {"cot": float(prompting == "cot"), "utilitarian_cot": float(prompting == "utilitarian_cot")}
        out.update({k: float(v) for k, v in self.arms[arm_id].features.items()})
        out.update({k: float(v) for k, v in item.features.items()})
        return out

    def facts_of(self, item: ItemSpec) -> dict[str, Any]:
        """Placeholder values of an item: the scenario's facts, the item's, and its `rule` as ``{rule}``."""
        facts = {**self.facts, **item.facts}
        if item.rule:
            facts.setdefault("rule", item.rule)
        return facts

    def text_of(self, item: ItemSpec, arm_id: str) -> str:
        return item.texts.get(arm_id, self.arms[arm_id].text).format_map(self.facts_of(item)).strip()

    def prompt_of(self, item: ItemSpec) -> str:
        return self.judgement.prompt.format_map(self.facts_of(item)).strip()
