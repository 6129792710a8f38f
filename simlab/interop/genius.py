"""Genius XML domains as simlab scenarios: `read_genius_folder` and `genius_to_scenario`.

Genius (Lin et al. 2014, "Genius: an integrated environment for supporting
the design of generic automated negotiators", Computational Intelligence
30(1)) stores a domain as one ``negotiation_template`` XML file (the issues)
and one ``utility_space`` XML file per party (the profile). simlab expresses
the linear-additive profiles exactly:

- a discrete issue (``<item value=... evaluation=...>``) becomes a discrete
  simlab issue whose role table is ``evaluation / max evaluation`` of the
  issue (Genius's `EvaluatorDiscrete` normalises by the maximum);
- an integer or real issue with a linear evaluator (``offset`` + ``slope``
  x value, or ``utilLowestValue`` / ``utilHighestValue``) that runs from 0 at
  one bound to 1 at the other becomes a numeric issue preferring the bound
  worth 1; any other linear integer evaluator becomes a discrete issue with one
  value per integer (its table is the evaluator's value at each integer);
- weights as given (simlab normalises them to sum 1, as Genius requires), the
  reservation value as the no-deal utility, and Genius's time discount ``d``
  (applied as ``d ** t`` over normalised time t) as the per-round discount
  ``d ** (1 / deadline)``.

What simlab cannot express raises `ConfigError` in one line: non-linear
(hyper-rectangle) profiles, non-linear evaluators, real issues whose linear
evaluator does not run 0 -> 1, and evaluations outside [0, 1].
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simlab.errors import ConfigError

__all__ = ["GeniusIssue", "GeniusProfile", "GeniusDomain", "read_genius_folder", "genius_to_scenario"]

_MAX_INTEGER_VALUES = 1000


@dataclass
class GeniusIssue:
    """An issue of the domain file: discrete labels or an integer / real range."""

    name: str
    kind: str  # "discrete" | "integer" | "real"
    values: list[str] = field(default_factory=list)
    low: float = 0.0
    high: float = 0.0


@dataclass
class GeniusProfile:
    """One party's linear-additive profile, per issue either a value table or a linear evaluator."""

    path: Path
    weights: dict[str, float]
    tables: dict[str, dict[str, float]]  # discrete: label -> raw evaluation
    linear: dict[str, tuple[float, float]]  # numeric: (utility at low, utility at high)
    reservation: float
    discount: float


@dataclass
class GeniusDomain:
    name: str
    path: Path
    issues: list[GeniusIssue]
    profiles: list[GeniusProfile]


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ConfigError(f"Genius file {path} is not well-formed XML ({exc})") from None


def _num(el: ET.Element, attr: str, path: Path, default: float | None = None) -> float:
    raw = el.attrib.get(attr)
    if raw is None:
        if default is None:
            raise ConfigError(f"Genius file {path}: <{el.tag} name='{el.attrib.get('name', '?')}'> has no '{attr}' attribute")
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"Genius file {path}: attribute {attr}='{raw}' of <{el.tag}> is not a number") from None


def _objective(root: ET.Element) -> ET.Element:
    for child in root.iter("objective"):
        return child
    return root


def _issue_kind(el: ET.Element) -> str:
    kind = (el.attrib.get("type") or el.attrib.get("etype") or "discrete").lower()
    return kind


def _bounds(el: ET.Element, path: Path) -> tuple[float, float]:
    for r in el.iter("range"):
        return _num(r, "lowerbound", path), _num(r, "upperbound", path)
    return _num(el, "lowerbound", path), _num(el, "upperbound", path)


def _read_domain(path: Path) -> list[GeniusIssue]:
    root = _parse(path)
    issues = []
    for el in _objective(root).iter("issue"):
        name = el.attrib.get("name")
        if not name:
            raise ConfigError(f"Genius domain {path}: an <issue> has no name")
        kind = _issue_kind(el)
        if kind == "discrete":
            values = [it.attrib["value"] for it in el.iter("item") if "value" in it.attrib]
            if len(values) < 2 or len(set(values)) != len(values):
                raise ConfigError(f"Genius domain {path}: discrete issue '{name}' needs at least two distinct item values")
            issues.append(GeniusIssue(name, "discrete", values=values))
        elif kind in ("integer", "real"):
            lo, hi = _bounds(el, path)
            if not lo < hi:
                raise ConfigError(f"Genius domain {path}: issue '{name}' has bounds [{lo:g}, {hi:g}]; need lower < upper")
            issues.append(GeniusIssue(name, kind, low=lo, high=hi))
        else:
            raise ConfigError(f"Genius domain {path}: issue '{name}' has type '{kind}'; simlab reads discrete, integer and real issues")
    if not issues:
        raise ConfigError(f"Genius domain {path} declares no issues")
    return issues


def _read_profile(path: Path, issues: list[GeniusIssue]) -> GeniusProfile:
    root = _parse(path)
    nonlinear = root.attrib.get("type", "").lower() == "nonlinear" or any(
        next(root.iter(tag), None) is not None for tag in ("hyperRectangle", "ufun", "utility_function", "utility")
    )
    if nonlinear:
        raise ConfigError(
            f"Genius profile {path} is non-linear (hyper-rectangle utility); simlab scenarios are linear additive, "
            "so this profile cannot be imported: pick a linear-additive profile"
        )
    by_name = {i.name: i for i in issues}
    by_index: dict[int, str] = {}
    obj = _objective(root)
    tables: dict[str, dict[str, float]] = {}
    linear: dict[str, tuple[float, float]] = {}
    for el in obj.iter("issue"):
        name = el.attrib.get("name", "")
        if name not in by_name:
            raise ConfigError(f"Genius profile {path}: issue '{name}' is not in the domain ({', '.join(by_name)})")
        if "index" in el.attrib:
            by_index[int(el.attrib["index"])] = name
        issue = by_name[name]
        items = [it for it in el.iter("item") if "value" in it.attrib]
        if issue.kind == "discrete" or (issue.kind == "integer" and items):
            # an integer issue may be scored item by item (NegMAS writes it so): a table over its integers
            labels = issue.values if issue.kind == "discrete" else [_int_label(issue.low + k) for k in range(int(issue.high - issue.low) + 1)]
            table = {}
            for it in items:
                label = it.attrib["value"]
                if issue.kind == "integer":
                    try:
                        label = _int_label(float(label))
                    except ValueError:
                        raise ConfigError(f"Genius profile {path}: integer issue '{name}' has item value '{label}'") from None
                if label not in labels:
                    raise ConfigError(f"Genius profile {path}: issue '{name}' has item '{label}' that the domain does not list")
                table[label] = _num(it, "evaluation", path)
            missing = [v for v in labels if v not in table]
            if missing:
                raise ConfigError(f"Genius profile {path}: issue '{name}' gives no evaluation for {missing}")
            tables[name] = table
        else:
            ev = next(iter(el.iter("evaluator")), None)
            if ev is None:
                raise ConfigError(f"Genius profile {path}: numeric issue '{name}' has no <evaluator>")
            ftype = ev.attrib.get("ftype", "linear").lower()
            if ftype != "linear":
                raise ConfigError(
                    f"Genius profile {path}: issue '{name}' has a '{ftype}' evaluator; simlab expresses linear evaluators only"
                )
            if "utilLowestValue" in ev.attrib or "utilHighestValue" in ev.attrib:
                ulo, uhi = _num(ev, "utilLowestValue", path), _num(ev, "utilHighestValue", path)
            else:
                offset = _num(ev, "offset", path, _num(ev, "parameter0", path, 0.0))
                slope = _num(ev, "slope", path, _num(ev, "parameter1", path, 1.0))
                ulo, uhi = offset + slope * issue.low, offset + slope * issue.high
            linear[name] = (ulo, uhi)
    weights: dict[str, float] = {}
    for w in obj.iter("weight"):
        idx = int(w.attrib.get("index", "0"))
        if idx not in by_index:
            raise ConfigError(f"Genius profile {path}: <weight index='{idx}'> names no issue of the profile")
        weights[by_index[idx]] = _num(w, "value", path)
    for name in by_name:
        if name not in tables and name not in linear:
            raise ConfigError(f"Genius profile {path}: no evaluation for issue '{name}'")
        if name not in weights:
            raise ConfigError(f"Genius profile {path}: no <weight> for issue '{name}'")
    if any(v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(f"Genius profile {path}: weights must be non-negative with a positive sum")
    reservation, discount = 0.0, 1.0
    for el in root.iter("reservation"):
        reservation = _num(el, "value", path)
    for el in root.iter("discount_factor"):
        discount = _num(el, "value", path)
    if not 0.0 <= reservation <= 1.0:
        raise ConfigError(f"Genius profile {path}: reservation value {reservation:g} is outside [0, 1]")
    if discount <= 0.0 or discount > 1.0:  # Genius writes 0 for "no discount"
        discount = 1.0
    return GeniusProfile(path, weights, tables, linear, reservation, discount)


def read_genius_folder(folder: str | Path, profiles: list[str] | None = None) -> GeniusDomain:
    """Read a Genius folder: its one domain file and two profiles (all profiles if exactly two, else `profiles`)."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"Genius folder {root} does not exist or is not a folder")
    domain_file: Path | None = None
    profile_files: list[Path] = []
    for p in sorted(root.glob("*.xml")):
        if p.name.endswith("pareto.xml"):
            continue
        tag = _parse(p).tag
        if tag == "negotiation_template":
            if domain_file is not None:
                raise ConfigError(f"Genius folder {root} holds two domain files ({domain_file.name}, {p.name}); keep one")
            domain_file = p
        elif tag == "utility_space":
            profile_files.append(p)
    if domain_file is None:
        raise ConfigError(f"Genius folder {root} has no domain file (an XML file whose root is <negotiation_template>)")
    if profiles:
        chosen = []
        for name in profiles:
            match = [p for p in profile_files if p.name == name or p.stem == name]
            if not match:
                raise ConfigError(f"Genius folder {root} has no profile '{name}' (profiles: {', '.join(p.name for p in profile_files)})")
            chosen.append(match[0])
        profile_files = chosen
    if len(profile_files) != 2:
        raise ConfigError(
            f"Genius folder {root} has {len(profile_files)} profiles ({', '.join(p.name for p in profile_files) or 'none'}); "
            "a bilateral scenario needs two: name them with --profile A --profile B"
        )
    issues = _read_domain(domain_file)
    return GeniusDomain(root.name, root, issues, [_read_profile(p, issues) for p in profile_files])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _role_names(domain: GeniusDomain) -> list[str]:
    stems = [p.path.stem for p in domain.profiles]
    common = 0
    while common < min(map(len, stems)) and len({s[common] for s in stems}) == 1:
        common += 1
    names = [re.sub(r"[^a-z0-9_]+", "_", s[common:].lower()).strip("_") or f"party_{i + 1}" for i, s in enumerate(stems)]
    if len(set(names)) != 2 or any(not n[0].isalpha() for n in names):
        names = ["party_a", "party_b"]
    return names


def _int_label(x: float) -> str:
    return str(int(round(x)))


def genius_to_scenario(domain: GeniusDomain, *, deadline: int = 20, roles: list[str] | None = None, scenario_id: str | None = None) -> dict[str, Any]:
    """The simlab scenario (a plain dict, ready for YAML) of a Genius domain; see the module docstring."""
    roles = roles or _role_names(domain)
    if len(roles) != 2 or len(set(roles)) != 2:
        raise ConfigError(f"give two distinct role names for the two profiles (got {roles})")
    issues: list[dict[str, Any]] = []
    as_discrete: dict[str, list[str]] = {}
    for issue in domain.issues:
        if issue.kind == "discrete":
            issues.append({"name": issue.name, "type": "discrete", "values": list(issue.values)})
            as_discrete[issue.name] = list(issue.values)
            continue
        ends = [p.linear.get(issue.name) for p in domain.profiles]
        endpoint_linear = all(e is not None and {round(e[0], 12), round(e[1], 12)} == {0.0, 1.0} for e in ends)
        if endpoint_linear:
            issues.append({"name": issue.name, "type": "integer" if issue.kind == "integer" else "continuous",
                           "range": [issue.low, issue.high]})
        elif issue.kind == "integer":
            n = int(round(issue.high - issue.low)) + 1
            if n > _MAX_INTEGER_VALUES:
                raise ConfigError(
                    f"Genius issue '{issue.name}' has a linear evaluator that does not run 0 -> 1 over {n} integers; "
                    f"simlab tabulates at most {_MAX_INTEGER_VALUES} values"
                )
            values = [_int_label(issue.low + k) for k in range(n)]
            issues.append({"name": issue.name, "type": "discrete", "values": values})
            as_discrete[issue.name] = values
        else:
            raise ConfigError(
                f"Genius real issue '{issue.name}': its linear evaluator does not run from 0 at one bound to 1 at the other; "
                "simlab's numeric issues are 0 -> 1 over their range"
            )
    utilities: dict[str, Any] = {}
    for role, prof in zip(roles, domain.profiles):
        prefer: dict[str, str] = {}
        tables: dict[str, dict[str, float]] = {}
        for issue in domain.issues:
            name = issue.name
            if name in prof.tables:
                raw = prof.tables[name]
                top = max(raw.values())
                if top <= 0 or min(raw.values()) < 0:
                    raise ConfigError(f"Genius profile {prof.path}: issue '{name}' needs non-negative evaluations with a positive maximum")
                labels = issue.values if issue.kind == "discrete" else as_discrete[name]
                tables[name] = {v: raw[v] / top for v in labels}  # Genius EvaluatorDiscrete: evaluation / max
            elif name in as_discrete:
                lo_u, hi_u = prof.linear[name]
                span = issue.high - issue.low
                table = {}
                for label in as_discrete[name]:
                    u = lo_u + (hi_u - lo_u) * (float(label) - issue.low) / span
                    if not -1e-12 <= u <= 1 + 1e-12:
                        raise ConfigError(f"Genius profile {prof.path}: issue '{name}' is worth {u:g} at {label}; evaluations must lie in [0, 1]")
                    table[label] = min(1.0, max(0.0, u))
                tables[name] = table
            else:
                lo_u, hi_u = prof.linear[name]
                prefer[name] = "high" if hi_u > lo_u else "low"
        per_round = prof.discount ** (1.0 / deadline) if prof.discount < 1.0 else 1.0
        entry: dict[str, Any] = {"weights": {i.name: prof.weights[i.name] for i in domain.issues}}
        if prefer:
            entry["prefer"] = prefer
        if tables:
            entry["tables"] = tables
        entry["reservation"] = prof.reservation
        entry["discount"] = per_round
        utilities[role] = entry
    sid = scenario_id or f"genius-{_slug(domain.name)}-v1"
    discount_note = ", ".join(f"{r}: Genius d = {p.discount:g}" for r, p in zip(roles, domain.profiles) if p.discount < 1.0)
    return {
        "id": sid,
        "domain": "genius",
        "title": f"{domain.name} (imported from Genius: {', '.join(p.path.name for p in domain.profiles)})",
        "roles": roles,
        "issues": issues,
        "utilities": utilities,
        "deadline": deadline,
        "personas": {r: f"You negotiate as {r.replace('_', ' ')} in the {domain.name} domain." for r in roles},
        "context": f"A multi-issue negotiation over {', '.join(i.name for i in domain.issues)}."
        + (f" Time discount per round is d ** (1/{deadline}) ({discount_note})." if discount_note else ""),
    }
