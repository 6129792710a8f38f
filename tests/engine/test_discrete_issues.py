"""Discrete (categorical) issues: config checks, utilities, schema, prompt and a scripted negotiation."""
import itertools

import numpy as np
import pytest
from pydantic import ValidationError

from simlab.config.models import AgentProfile, Scenario, StrategySpec
from simlab.engine.outcome import ParetoFrontier, ReachableFrontier
from simlab.engine.prompts import system_prompt
from simlab.engine.turn_schema import turn_schema
from simlab.strategies.utility import utility_of

SCEN = {
    "id": "dinner-v1",
    "domain": "test",
    "roles": ["host", "guest"],
    "issues": [
        {"name": "food", "type": "discrete", "values": ["pizza", "sushi", "curry"]},
        {"name": "drink", "type": "discrete", "values": ["wine", "beer"]},
        {"name": "price", "type": "integer", "range": [10, 20]},
    ],
    "utilities": {
        "host": {"weights": {"food": 0.5, "drink": 0.2, "price": 0.3}, "prefer": {"price": "high"},
                 "tables": {"food": {"pizza": 1.0, "sushi": 0.2, "curry": 0.6}, "drink": {"wine": 0.0, "beer": 1.0}},
                 "reservation": 0.3},
        "guest": {"weights": {"food": 0.4, "drink": 0.4, "price": 0.2}, "prefer": {"price": "low"},
                  "tables": {"food": {"pizza": 0.1, "sushi": 1.0, "curry": 0.7}, "drink": {"wine": 1.0, "beer": 0.5}},
                  "reservation": 0.2},
    },
    "deadline": 8,
}


def scenario(**changes):
    data = {**SCEN, **changes}
    return Scenario.model_validate(data)


def test_config_checks_discrete_issues_and_tables():
    s = scenario()
    assert s.issues[0].range == (0.0, 2.0)  # label positions
    bad = {**SCEN, "utilities": {**SCEN["utilities"], "guest": {**SCEN["utilities"]["guest"], "tables": {
        "food": {"pizza": 0.1, "sushi": 1.0}, "drink": {"wine": 1.0, "beer": 0.5}}}}}
    with pytest.raises(ValidationError, match=r"tables.food: must score exactly the labels \['pizza', 'sushi', 'curry'\]"):
        Scenario.model_validate(bad)
    bad = {**SCEN, "utilities": {**SCEN["utilities"], "guest": {**SCEN["utilities"]["guest"], "prefer": {"price": "low", "food": "high"}}}}
    with pytest.raises(ValidationError, match=r"prefer: must name exactly the numeric issues \['price'\].*unknown \['food'\]"):
        Scenario.model_validate(bad)
    with pytest.raises(ValidationError, match="values are for discrete issues"):
        scenario(issues=[{"name": "x", "range": [0, 1], "values": ["a", "b"]}])
    with pytest.raises(ValidationError, match="at least two distinct labels"):
        scenario(issues=[{"name": "x", "type": "discrete", "values": ["a"]}])


def test_utility_uses_the_role_tables_and_concedes_to_the_cheapest_outcome_above_target():
    s = scenario()
    host = utility_of(s, "host")
    offer = {"food": "curry", "drink": "wine", "price": 15.0}
    assert host(offer) == pytest.approx(0.5 * 0.6 + 0.2 * 0.0 + 0.3 * 0.5)
    assert host.best_offer() == {"food": "pizza", "drink": "beer", "price": 20.0}
    assert host.worst_offer() == {"food": "sushi", "drink": "wine", "price": 10.0}
    # integer price makes it mixed: the greedy path; its offers never fall below the target
    for target in (0.2, 0.45, 0.7, 0.95):
        assert host.undiscounted(host.offer_with_utility(target)) >= target - 1e-9
    # all discrete: exactly the cheapest outcome at or above the target (brute force)
    only = scenario(issues=SCEN["issues"][:2], utilities={
        r: {**u, "weights": {k: v for k, v in u["weights"].items() if k != "price"}, "prefer": {}} for r, u in SCEN["utilities"].items()})
    g = utility_of(only, "guest")
    outcomes = [dict(zip(("food", "drink"), c)) for c in itertools.product(["pizza", "sushi", "curry"], ["wine", "beer"])]
    for target in (0.0, 0.3, 0.55, 0.8, 1.0):
        got = g.undiscounted(g.offer_with_utility(target))
        assert got == pytest.approx(min(g.undiscounted(o) for o in outcomes if g.undiscounted(o) >= target - 1e-12))


def test_frontiers_hull_and_reachable_against_brute_force():
    s = scenario()
    ua, ub = utility_of(s, "host"), utility_of(s, "guest")
    outcomes = list(itertools.product(["pizza", "sushi", "curry"], ["wine", "beer"], range(10, 21)))
    pts = np.array([[ua({"food": f, "drink": d, "price": float(p)}), ub({"food": f, "drink": d, "price": float(p)})] for f, d, p in outcomes])
    eps = 1e-12  # utilities equal up to rounding count as equal
    pareto = np.array([p for p in pts if not np.any(
        (pts[:, 0] >= p[0] - eps) & (pts[:, 1] >= p[1] - eps) & ((pts[:, 0] > p[0] + eps) | (pts[:, 1] > p[1] + eps)))])
    reach = ReachableFrontier.from_utilities(ua, ub, rational=False)
    assert sorted(map(tuple, np.round(reach.points, 9))) == sorted(set(map(tuple, np.round(pareto, 9))))
    hull = ParetoFrontier.from_utilities(ua, ub)
    # every outcome lies on or below the hull frontier, and every reachable Pareto point is within it
    for v in hull.vertices:
        assert not np.any((pts[:, 0] > v[0] + 1e-9) & (pts[:, 1] > v[1] + 1e-9))
    assert max(hull.distance(tuple(p)) for p in pareto) < 0.25
    assert all(any(np.allclose(v, p) for p in pts) for v in hull.vertices[[0, -1]])  # its ends are outcomes
    nash = reach.nash_point(0.3, 0.2)
    prod = (pts[:, 0] - 0.3) * (pts[:, 1] - 0.2)
    prod[(pts[:, 0] < 0.3) | (pts[:, 1] < 0.2)] = -1
    assert (nash[0] - 0.3) * (nash[1] - 0.2) == pytest.approx(prod.max())


def test_reply_schema_and_prompt_name_the_labels():
    s = scenario()
    schema = turn_schema(s.issue_ranges(), ("neutral",), choices={"food": ["pizza", "sushi", "curry"]})
    assert schema["properties"]["offer"]["properties"]["food"] == {"type": "string", "enum": ["pizza", "sushi", "curry"]}
    assert schema["properties"]["offer"]["properties"]["price"]["type"] == "number"
    text = system_prompt(s, AgentProfile(id="h", role="host"), "host", {}, ("neutral",))
    assert "food: one of pizza, sushi, curry" in text and "food: pizza > curry > sushi" in text
    assert '"food": "pizza" | "sushi" | "curry"' in text


def _scripted_session():
    """The discrete scenario played to the end by two time-dependent agents through the scripted backend."""
    from simlab.engine.protocols.alternating import AlternatingOffers
    from simlab.llm.scripted import ScriptedBackend

    s = scenario()
    profiles = {
        "host": AgentProfile(id="h", role="host", strategy=StrategySpec(name="time_dependent", params={"e": 1.0})),
        "guest": AgentProfile(id="g", role="guest", strategy=StrategySpec(name="time_dependent", params={"e": 2.0})),
    }
    sess = AlternatingOffers("d", s, profiles, np.random.default_rng(0))
    backend = ScriptedBackend()
    while not sess.done:
        sess.apply(backend.generate([sess.next_request()])[0])
    return s, sess


def test_scripted_negotiation_agrees_on_labels_and_scores_them_with_the_tables():
    s, sess = _scripted_session()
    assert sess.outcome == "agreement"
    assert sess.agreement["food"] in ("pizza", "sushi", "curry") and sess.agreement["drink"] in ("wine", "beer")
    ua = utility_of(s, "host")
    assert sess.metrics()["undiscounted"]["host"] == pytest.approx(ua.undiscounted(sess.agreement))
    for t in sess.turns:
        if t["action"] == "offer":
            assert isinstance(t["offer"]["food"], str)


def test_run_metrics_report_both_frontiers():
    s, sess = _scripted_session()
    m = sess.metrics()
    ua, ub = utility_of(s, "host"), utility_of(s, "guest")
    reach = ReachableFrontier.from_utilities(ua, ub)
    point = (m["undiscounted"]["host"], m["undiscounted"]["guest"])
    assert m["pareto_distance_reachable"] == pytest.approx(reach.distance(point))
    assert m["nash_point_reachable"] == reach.nash_point(0.3, 0.2)
    # the pareto_distance column stays the convex hull's frontier
    assert m["pareto_distance"] == pytest.approx(ParetoFrontier.from_utilities(ua, ub).distance(point))
    import json
    assert "reachable" in json.loads(sess.run_fields()["utilities_json"])


def test_negotiation_report_names_both_frontiers(tmp_path):
    """A scripted study over a discrete scenario: the report's frontier section fills both kinds of column."""
    import yaml

    from simlab.report.negotiation import build_negotiation_report
    from simlab.store.store import RunStore
    from simlab.sweep.runner import run_study

    (tmp_path / "scenarios").mkdir()
    (tmp_path / "agents").mkdir()
    (tmp_path / "scenarios" / "dinner.yaml").write_text(yaml.safe_dump(SCEN))
    for role, e in (("host", 1.0), ("guest", 2.0)):
        (tmp_path / "agents" / f"{role}_td.yaml").write_text(yaml.safe_dump(
            {"id": f"{role}_td", "role": role, "strategy": {"name": "time_dependent", "params": {"e": e}}}))
    study = {"study": "dinner-study", "scenarios": ["dinner"], "agents": {"host": ["host_td"], "guest": ["guest_td"]},
             "seeds": [1, 2], "backend": {"kind": "scripted"}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    store = tmp_path / "s.duckdb"
    result = run_study(tmp_path / "study.yaml", backend="scripted", store_path=store, cache_path=None)
    assert result.failed == 0 and result.ran == 2
    text = build_negotiation_report(RunStore(store, read_only=True), "dinner-study", tmp_path / "r").read_text()
    row = [ln for ln in text.split("convex-hull and reachable frontiers")[1].splitlines() if ln.startswith("| test | ")][0]
    cells = [c.strip() for c in row.split("|")]
    assert "Pareto distance (reachable outcomes)" in text and "Nash distance (convex hull)" in text
    assert cells[5] != "= hull" and cells[7] != "= hull"  # discrete issues: the reachable columns are computed


def test_an_unknown_label_is_an_error_not_the_first_label():
    from simlab.engine.protocols.alternating import _label_of
    from simlab.errors import ConfigError

    assert _label_of("SUSHI", ["pizza", "sushi"]) == "sushi" and _label_of(1.0, ["pizza", "sushi"]) == "sushi"
    with pytest.raises(ConfigError, match="'ramen' for a discrete issue is not one of its labels"):
        _label_of("ramen", ["pizza", "sushi"])
    with pytest.raises(ConfigError):
        _label_of(5, ["pizza", "sushi"])


def test_hull_frontier_with_role_specific_ranges_matches_brute_force():
    """A role whose own range is narrower values the issue flat outside it: the frontier bends at its ends."""
    import itertools

    from simlab.strategies.utility import UtilityFunction

    ua = UtilityFunction(("d", "x"), np.array([0.0, 0.0]), np.array([10.0, 1.0]), np.array([0.7, 0.3]), np.array([True, False]))
    ub = UtilityFunction(("d", "x"), np.array([5.0, 0.0]), np.array([15.0, 1.0]), np.array([0.4, 0.6]), np.array([False, True]))
    f = ParetoFrontier.from_utilities(ua, ub)
    grid = np.array(list(itertools.product(np.linspace(0, 15, 61), np.linspace(0, 1, 21))))
    pts = np.column_stack([ua.evaluate(grid), ub.evaluate(grid)])
    for v in f.vertices:  # nothing attainable beats a vertex on both sides
        assert not np.any((pts[:, 0] > v[0] + 1e-9) & (pts[:, 1] > v[1] + 1e-9))
    eps = 1e-12
    pareto = [p for p in pts if not np.any((pts[:, 0] >= p[0] - eps) & (pts[:, 1] >= p[1] - eps)
                                           & ((pts[:, 0] > p[0] + eps) | (pts[:, 1] > p[1] + eps)))]
    assert max(f.distance(tuple(p)) for p in pareto) < 1e-9  # every Pareto outcome lies on the frontier
