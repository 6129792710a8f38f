"""Pydantic models of the three YAML kinds: `Scenario`, `AgentProfile`, `Study`.

Unknown keys are errors (``extra="forbid"``) so a typo never silently changes a
study. Scenario ids are versioned (``debt-collection-v1``) and bumped when their
semantics change.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, allow_inf_nan=False)


class IssueSpec(_Strict):
    """One negotiated issue: a numeric range with a unit, or a discrete (categorical) set of `values`.

    A discrete issue lists its labels in `values` and has no range of its own
    (its `range` is the label positions ``[0, n - 1]``); each role scores the
    labels in ``utilities.ROLE.tables.ISSUE``.
    """

    name: str
    type: Literal["continuous", "integer", "discrete"] = "continuous"
    range: tuple[float, float] | None = None
    values: list[str] = Field(default_factory=list, description="the labels of a discrete issue")
    unit: str = ""
    description: str = ""

    @field_validator("range")
    @classmethod
    def _ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not v[0] < v[1]:
            raise ValueError("range must be [low, high] with low < high")
        return v

    @model_validator(mode="after")
    def _kind(self) -> "IssueSpec":
        if self.type == "discrete":
            if len(self.values) < 2 or len(set(self.values)) != len(self.values):
                raise ValueError(f"issue '{self.name}': a discrete issue lists at least two distinct labels in values")
            positions = (0.0, float(len(self.values) - 1))
            if self.range is not None and tuple(self.range) != positions:
                raise ValueError(f"issue '{self.name}': a discrete issue has no range (its labels are its values)")
            self.range = positions
        else:
            if self.values:
                raise ValueError(f"issue '{self.name}': values are for discrete issues; set type: discrete or drop values")
            if self.range is None:
                raise ValueError(f"issue '{self.name}': a {self.type} issue needs range: [low, high]")
        return self


class RoleUtility(_Strict):
    """A role's linear-additive preferences."""

    weights: dict[str, float]
    prefer: dict[str, Literal["high", "low"]] = Field(default_factory=dict, description="numeric issues: which end is better")
    tables: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="discrete issues: this role's utility in [0, 1] of each label"
    )
    reservation: float = Field(0.0, ge=0.0, le=1.0)
    discount: float = Field(1.0, gt=0.0, le=1.0)
    ranges: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="this role's own range per issue, in the issue's units: its offers stay inside it and its "
        "utility runs from worst to best over it (default: the issue's range)",
    )
    target: dict[str, float] = Field(
        default_factory=dict, description="the role's target per issue, in the issue's units (facts and metrics: target_ROLE_ISSUE)"
    )
    reservation_at: dict[str, float] = Field(
        default_factory=dict,
        description="the no-deal value as an offer in the issues' own units (unnamed issues at this role's worst); "
        "replaces `reservation` by that offer's utility",
    )

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (lo, hi) in v.items():
            if not lo < hi:
                raise ValueError(f"ranges.{name} must be [low, high] with low < high (got [{lo}, {hi}])")
        return v

    @field_validator("weights")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("weights must be non-negative with a positive sum")
        return v


class Behaviour(_Strict):
    """A counterpart behaviour type the scenario knows how to describe in prompts."""

    description: str
    instructions: str = ""


class EthicsRule(_Strict):
    """A rule a message can break; `patterns` are case-insensitive regexes."""

    id: str
    description: str
    applies_to: list[str] = Field(default_factory=list)
    patterns: list[str]


class CaseBank(_Strict):
    """A CSV or JSONL file of cases; each run takes one row.

    `columns` maps a column to what it sets, and `set` maps a target to an
    expression over the row's columns (``max(1, creditor_target - 10)``; a pair
    of expressions for a range). A target is a bare name or ``facts.NAME`` (a
    case fact, a template variable), ``deadline``, ``issues.ISSUE.range`` (or
    ``.low`` / ``.high``), or ``utilities.ROLE.`` followed by ``reservation``,
    ``discount``, ``weights.ISSUE``, ``ranges.ISSUE`` (or ``.low`` / ``.high``),
    ``target.ISSUE`` or ``reservation_at.ISSUE`` (the last three in the issue's
    own units). Run with seed s takes row ``s mod N`` (``sample: seed``) or a row
    drawn from the seed (``sample: draw``). `path` is relative to the scenario file.
    `error` is set by the study expansion on a case that cannot be applied, so
    that run (only) fails with it.
    """

    path: str
    columns: dict[str, str] = Field(default_factory=dict)
    set: dict[str, str | float | list[str | float]] = Field(default_factory=dict)
    id_column: str | None = None
    sample: Literal["seed", "draw"] = "seed"
    error: str | None = None


class ProtocolOptions(_Strict):
    """Variants of the alternating-offers protocol, so a published benchmark runs by its authors' rules.

    agreement: ``last_offer`` (accept settles on the counterpart's last offer) or
        ``emomas_mean_within_5`` (EmoMAS: on accept, the last offers of both roles
        among the last 4 messages; within 5 of each other on every issue -> their
        rounded mean, otherwise the first role's last offer).
    rounds: ``pairs`` (a round is one turn of each side; `deadline` counts rounds)
        or ``messages`` (every message is a round; `deadline` is the message limit).
    """

    agreement: Literal["last_offer", "emomas_mean_within_5"] = "last_offer"
    rounds: Literal["pairs", "messages"] = "pairs"


class SeedVaries(_Strict):
    """What a run's seed varies besides the case drawn (`simlab.engine.seed_varies`).

    Without it, seeds of a deterministic pairing under the scripted backend give
    identical negotiations (pseudo-replicates). Each draw comes from the seed and
    replicate alone, so every condition sees the same variation (common random numbers).

    Attributes:
        reservation_jitter: each role's reservation value moves by a uniform draw
            in [-j, +j] (clipped to [0, 0.95]).
        weight_jitter: each issue weight is multiplied by a uniform draw in
            [1 - j, 1 + j] (then renormalised).
        deadline_jitter: the deadline moves by a whole number of rounds in [-k, +k] (at least 1).
        roles: the roles whose utilities vary (default: every role).
    """

    reservation_jitter: float = Field(0.0, ge=0.0, le=0.5)
    weight_jitter: float = Field(0.0, ge=0.0, lt=1.0)
    deadline_jitter: int = Field(0, ge=0, le=100)
    roles: list[str] | None = None


class Scenario(_Strict):
    """A negotiation scenario (scenarios/*.yaml)."""

    id: str
    domain: str
    title: str = ""
    protocol: Literal["alternating_offers"] = "alternating_offers"
    roles: list[str]
    first_mover: str | None = None
    issues: list[IssueSpec]
    utilities: dict[str, RoleUtility]
    deadline: int = Field(20, ge=1, le=1000)
    facts: dict[str, Any] = Field(default_factory=dict)
    personas: dict[str, str] = Field(default_factory=dict)
    context: str = ""
    behaviours: dict[str, Behaviour] = Field(default_factory=dict)
    ethics: list[EthicsRule] = Field(default_factory=list)
    metrics: dict[str, str] = Field(default_factory=dict)
    case_bank: CaseBank | None = None
    protocol_options: ProtocolOptions = Field(default_factory=ProtocolOptions)
    seed_varies: SeedVaries | None = None

    @field_validator("id")
    @classmethod
    def _versioned(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*-v\d+", v):
            raise ValueError("id must be lowercase words joined by '-' ending in a version, e.g. debt-collection-v1")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        if self.case_bank is not None and self.case_bank.error:
            raise ValueError(self.case_bank.error)
        if len(self.roles) != 2:
            raise ValueError("roles: alternating offers needs exactly two roles")
        names = [i.name for i in self.issues]
        if len(set(names)) != len(names):
            raise ValueError("issues: names must be unique")
        for role in self.roles:
            if role not in self.utilities:
                raise ValueError(f"utilities: missing role '{role}'")
            u = self.utilities[role]
            numeric = [i.name for i in self.issues if i.type != "discrete"]
            discrete = [i.name for i in self.issues if i.type == "discrete"]
            for label, mapping, want in (("weights", u.weights, names), ("prefer", u.prefer, numeric), ("tables", u.tables, discrete)):
                missing = set(want) - set(mapping)
                extra = set(mapping) - set(want)
                if missing or extra:
                    what = {"weights": "the issues", "prefer": "the numeric issues", "tables": "the discrete issues"}[label]
                    raise ValueError(
                        f"utilities.{role}.{label}: must name exactly {what} {want}"
                        + (f" (missing {sorted(missing)})" if missing else "")
                        + (f" (unknown {sorted(extra)})" if extra else "")
                    )
            for issue in self.issues:
                if issue.type != "discrete":
                    continue
                table = u.tables[issue.name]
                if set(table) != set(issue.values):
                    raise ValueError(
                        f"utilities.{role}.tables.{issue.name}: must score exactly the labels {issue.values} (got {sorted(table)})"
                    )
                bad = {k: v for k, v in table.items() if not 0.0 <= v <= 1.0}
                if bad:
                    raise ValueError(f"utilities.{role}.tables.{issue.name}: utilities must lie in [0, 1] (got {bad})")
        ranges = self.issue_ranges()
        for role, u in self.utilities.items():
            for field, mapping in (("ranges", u.ranges), ("target", u.target), ("reservation_at", u.reservation_at)):
                unknown = set(mapping) - set(names)
                if unknown:
                    raise ValueError(f"utilities.{role}.{field}: unknown issues {sorted(unknown)} (issues: {names})")
            for name, (lo, hi) in u.ranges.items():
                if lo < ranges[name][0] or hi > ranges[name][1]:
                    raise ValueError(
                        f"utilities.{role}.ranges.{name}: [{lo}, {hi}] must lie inside the issue's range "
                        f"[{ranges[name][0]}, {ranges[name][1]}] (widen issues.{name}.range)"
                    )
            own = {**ranges, **u.ranges}
            for field, mapping in (("target", u.target), ("reservation_at", u.reservation_at)):
                for name, value in mapping.items():
                    if not own[name][0] <= value <= own[name][1]:
                        raise ValueError(
                            f"utilities.{role}.{field}.{name}: {value} is outside this role's range "
                            f"[{own[name][0]}, {own[name][1]}]"
                        )
        extra_roles = set(self.utilities) - set(self.roles)
        if extra_roles:
            raise ValueError(f"utilities: unknown roles {sorted(extra_roles)}")
        if self.first_mover is not None and self.first_mover not in self.roles:
            raise ValueError(f"first_mover: must be one of {self.roles}")
        return self

    def issue_ranges(self) -> dict[str, tuple[float, float]]:
        return {i.name: (float(i.range[0]), float(i.range[1])) for i in self.issues}

    def role_ranges(self, role: str) -> dict[str, tuple[float, float]]:
        """`role`'s own range per issue: `utilities.ROLE.ranges` where given, else the issue's range."""
        own = self.utilities[role].ranges
        return {n: (float(own[n][0]), float(own[n][1])) if n in own else r for n, r in self.issue_ranges().items()}

    def counterpart(self, role: str) -> str:
        return self.roles[1] if role == self.roles[0] else self.roles[0]


class StrategySpec(_Strict):
    name: str = "vanilla"
    params: dict[str, Any] = Field(default_factory=dict)


class BackendSpec(_Strict):
    """Which LLM backend expresses an agent's moves, and how it samples."""

    kind: str = "embedded"
    model: str | None = None
    base_url: str | None = None
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(160, ge=8, le=4096)
    n_ctx: int = Field(4096, ge=256)
    options: dict[str, Any] = Field(default_factory=dict)


class AgentProfile(_Strict):
    """An agent (agents/*.yaml): role, persona, strategy and optional own backend."""

    id: str
    role: str
    persona: str = ""
    behaviour: str | None = None
    strategy: StrategySpec = Field(default_factory=StrategySpec)
    backend: BackendSpec | None = None


MAX_SEEDS = 100_000
"""Most seeds one study may list (a {start, count} range of 10**9 would hang the expansion)."""
MAX_SEED = 2**63 - 1
"""Largest seed: the store keeps seeds as 64-bit integers."""


class Study(_Strict):
    """A study (experiments/*.yaml): scenarios x agent pairings x conditions x seeds x replicates."""

    study: str
    description: str = ""
    scenarios: list[str]
    agents: dict[str, list[str]]
    conditions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    exclude: list[dict[str, str]] = Field(
        default_factory=list,
        description="agent combinations to leave out of the grid: each entry maps agent keys to profile ids "
        "(e.g. {creditor: boulware_creditor, debtor: llm_debtor}); a combination matching every key of an entry is skipped",
    )
    scenario_overrides: dict[str, Any] = Field(
        default_factory=dict, description="fields merged into every scenario of the study (e.g. {deadline: 6})"
    )
    seeds: list[int]
    replicates: int = Field(1, ge=1, le=10_000)
    backend: BackendSpec = Field(default_factory=BackendSpec)
    population: int = Field(16, ge=1, description="sessions a worker advances together, one turn per step")
    detector: str | None = Field("lexicon", description="emotion detector run on every message (None to skip)")

    @field_validator("study")
    @classmethod
    def _slug(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", v):
            raise ValueError("study must be a slug of letters, digits, '-', '_' or '.'")
        return v

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_range(cls, v: Any) -> Any:
        if isinstance(v, dict):
            if set(v) != {"start", "count"}:
                raise ValueError("seeds: give a list, or {start: S, count: N}")
            start, count = v["start"], v["count"]
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, count)):
                raise ValueError("seeds: start and count must be whole numbers")
            if not 1 <= count <= MAX_SEEDS:
                raise ValueError(f"seeds: count must be between 1 and {MAX_SEEDS}")
            if not 0 <= start <= MAX_SEED - count + 1:
                raise ValueError("seeds: every seed must lie in [0, 2**63-1]; give a start of 0 or more, below 2**63 - count")
            return list(range(start, start + count))
        if isinstance(v, list) and len(v) > MAX_SEEDS:
            raise ValueError(f"seeds: at most {MAX_SEEDS} seeds per study, got {len(v)}")
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("seeds: give at least one seed, e.g. [1, 2, 3]")
        if len(set(v)) != len(v):
            raise ValueError("seeds: must be distinct")
        bad = [s for s in v if not 0 <= s <= MAX_SEED]
        if bad:
            raise ValueError(f"seeds: {str(bad[0])[:24]} is outside [0, 2**63-1] (the store keeps 64-bit seeds); use a smaller seed")
        return v

    @field_validator("scenarios")
    @classmethod
    def _distinct_scenarios(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("scenarios: list at least one scenario")
        twice = sorted({s for s in v if v.count(s) > 1})
        if twice:
            raise ValueError(f"scenarios: {', '.join(twice)} listed more than once; list each scenario once")
        return v

    @model_validator(mode="after")
    def _exclusions(self) -> "Study":
        for i, entry in enumerate(self.exclude):
            if not entry:
                raise ValueError(f"exclude.{i}: name at least one agent key and profile")
            for key, pid in entry.items():
                if key not in self.agents:
                    raise ValueError(f"exclude.{i}: '{key}' is not an agent key (keys: {', '.join(self.agents)})")
                if pid not in self.agents[key]:
                    raise ValueError(f"exclude.{i}: '{pid}' is not listed under agents.{key}")
        return self

    def excluded(self, combo: dict[str, str]) -> bool:
        """Whether the agent combination {key: profile id} is left out by `exclude`."""
        return any(all(combo.get(k) == v for k, v in entry.items()) for entry in self.exclude)

    def role_map(self, scenario_roles: list[str]) -> dict[str, str]:
        """Study agent key -> scenario role.

        Keys are either exactly the scenario's roles, or the generic ``lead``
        (the scenario's first role: creditor, provider, ...) and ``counterpart``,
        which lets one study pair the same profiles across domains.
        """
        keys = list(self.agents)
        if set(keys) == set(scenario_roles):
            return {k: k for k in keys}
        if set(keys) == {"lead", "counterpart"} and len(scenario_roles) == 2:
            return {"lead": scenario_roles[0], "counterpart": scenario_roles[1]}
        if set(keys) == {"lead"} and len(scenario_roles) == 1:
            return {"lead": scenario_roles[0]}
        raise ValueError(
            f"agents: keys {sorted(keys)} must be the scenario's roles {scenario_roles} or 'lead' and 'counterpart'"
        )

    @field_validator("agents")
    @classmethod
    def _agents(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for role, ids in v.items():
            if not ids:
                raise ValueError(f"agents.{role}: list at least one agent profile")
            twice = sorted({a for a in ids if ids.count(a) > 1})
            if twice:
                raise ValueError(f"agents.{role}: {', '.join(twice)} listed more than once; list each agent once")
        return v
