"""Genius XML import, and outcome metrics against NegMAS number for number.

negmas 0.16 ships no Genius domain folders in its wheel, so the domains are a
hand-written Genius folder (tests/interop/data/laptop, discrete and integer
issues) and folders written by NegMAS's own Genius writer (`to_genius_folder`)
from seeded random linear-additive profiles. Genius scores a discrete item as
evaluation / max evaluation of its issue (EvaluatorDiscrete); NegMAS's reader
keeps raw evaluations, so the NegMAS side of each check rebuilds its parsed
tables with that normalisation before computing frontiers and Nash points.
"""
import itertools
import random
from pathlib import Path

import numpy as np
import pytest
import yaml

negmas = pytest.importorskip("negmas")
from negmas import make_issue  # noqa: E402
from negmas.inout import Scenario as NScenario  # noqa: E402
from negmas.outcomes import make_os  # noqa: E402
from negmas.preferences import LinearAdditiveUtilityFunction as LAU  # noqa: E402
from negmas.preferences import nash_points, pareto_frontier  # noqa: E402
from negmas.preferences.ops import dist_to_convex_hull_frontier, distance_to  # noqa: E402

from simlab.config.models import Scenario  # noqa: E402
from simlab.engine.outcome import ParetoFrontier, ReachableFrontier  # noqa: E402
from simlab.errors import ConfigError  # noqa: E402
from simlab.interop.genius import genius_to_scenario, read_genius_folder  # noqa: E402
from simlab.strategies.utility import utility_of  # noqa: E402

DATA = Path(__file__).parent / "data"


def test_laptop_folder_converts_to_a_valid_scenario_with_genius_semantics():
    dom = read_genius_folder(DATA / "laptop")
    data = genius_to_scenario(dom, deadline=10)
    s = Scenario.model_validate(yaml.safe_load(yaml.safe_dump(data, sort_keys=False)))
    assert s.roles == ["buyer", "seller"]
    buyer, seller = s.utilities["buyer"], s.utilities["seller"]
    assert buyer.tables["Laptop"] == {"Dell": 0.5, "Macintosh": 1.0, "HP": 0.25}  # evaluation / max
    # the seller's warranty evaluator runs 0.9 -> 0.1, not 0 -> 1: tabulated per integer for both roles
    warranty = next(i for i in s.issues if i.name == "Warranty")
    assert warranty.type == "discrete" and warranty.values == ["0", "1", "2", "3", "4"]
    assert buyer.tables["Warranty"] == pytest.approx({"0": 0.0, "1": 0.25, "2": 0.5, "3": 0.75, "4": 1.0})
    assert seller.tables["Warranty"] == pytest.approx({"0": 0.9, "1": 0.7, "2": 0.5, "3": 0.3, "4": 0.1})
    assert (buyer.reservation, seller.reservation) == (0.3, 0.25)
    assert seller.discount == pytest.approx(0.8 ** (1 / 10)) and buyer.discount == 1.0


def test_nonlinear_profile_is_one_clear_error():
    with pytest.raises(ConfigError, match=r"seller.xml is non-linear \(hyper-rectangle utility\).*cannot be imported"):
        read_genius_folder(DATA / "nonlinear")


def test_cli_import_genius_writes_a_loadable_yaml(tmp_path):
    import subprocess
    import sys

    def simlab(*args):
        return subprocess.run([sys.executable, "-m", "simlab.cli", *args], capture_output=True, text=True)

    out = tmp_path / "laptop.yaml"
    res = simlab("import", "genius", str(DATA / "laptop"), "--out", str(out), "--deadline", "12")
    assert res.returncode == 0, res.stderr
    assert Scenario.model_validate(yaml.safe_load(out.read_text())).deadline == 12
    checked = simlab("validate", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    bad = simlab("import", "genius", str(DATA / "nonlinear"), "--out", str(tmp_path / "x.yaml"))
    assert bad.returncode == 2 and "non-linear" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def negmas_folder(tmp_path, seed):
    """A Genius folder written by NegMAS from seeded random linear-additive profiles."""
    random.seed(seed)
    np.random.seed(seed)
    space = make_os([make_issue(values=["a", "b", "c", "d"], name="x"), make_issue(values=6, name="n"),
                     make_issue(values=["lo", "mid", "hi"], name="y")])
    ufuns = [LAU.random(outcome_space=space, normalized=True) for _ in range(2)]
    for u, r in zip(ufuns, (0.25, 0.35)):
        u.reserved_value = r
    folder = tmp_path / f"neg{seed}"
    NScenario(outcome_space=space, ufuns=tuple(ufuns)).to_genius_folder(folder)
    return folder


def genius_normalised(ufun, issues):
    """NegMAS's parsed profile with Genius's evaluation / max for issues scored item by item."""
    from negmas.preferences.value_fun import TableFun

    values = []
    for issue, fn in zip(issues, ufun.values):
        table = {v: float(fn(v)) for v in issue.all}
        top = max(table.values()) if isinstance(fn, TableFun) else 1.0  # item tables only; a linear evaluator is as given
        values.append({v: u / top for v, u in table.items()})
    return LAU(values=values, weights=list(ufun.weights), outcome_space=make_os(issues), reserved_value=ufun.reserved_value)


@pytest.mark.parametrize("source", ["laptop", 1, 2, 3])
def test_frontier_nash_and_distances_match_negmas_number_for_number(tmp_path, source):
    folder = DATA / "laptop" if source == "laptop" else negmas_folder(tmp_path, source)
    ns = NScenario.from_genius_folder(folder, ignore_discount=True)
    issues = list(ns.outcome_space.issues)
    nufuns = [genius_normalised(u, issues) for u in ns.ufuns]
    scenario = Scenario.model_validate(genius_to_scenario(read_genius_folder(folder)))
    ua, ub = (utility_of(scenario, r) for r in scenario.roles)
    outcomes = list(itertools.product(*[list(i.all) for i in issues]))
    names = [i.name for i in issues]

    def offer(o):
        return {n: str(v) for n, v in zip(names, o)}

    # same utility of every outcome
    for o in outcomes:
        assert ua.undiscounted(offer(o)) == pytest.approx(nufuns[0](o), abs=1e-12)
        assert ub.undiscounted(offer(o)) == pytest.approx(nufuns[1](o), abs=1e-12)
    # same reachable Pareto frontier
    front, _ = pareto_frontier(nufuns, outcomes=outcomes, sort_by_welfare=False)
    reach = ReachableFrontier.from_utilities(ua, ub)
    assert sorted(map(tuple, np.round(reach.points, 10))) == sorted(map(tuple, np.round(np.array(front), 10)))
    # same Nash point (reservations of the profiles)
    assert (ua.reservation, ub.reservation) == pytest.approx((nufuns[0].reserved_value, nufuns[1].reserved_value))
    npts = nash_points(nufuns, front, outcome_space=make_os(issues))
    assert npts, "negmas finds a Nash point"
    assert reach.nash_point(ua.reservation, ub.reservation) == pytest.approx(npts[0][0], abs=1e-12)
    # same distances: to the nearest Pareto outcome, and to the convex hull's frontier
    hull = ParetoFrontier.from_utilities(ua, ub)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(outcomes), 15, replace=False):
        p = (ua.undiscounted(offer(outcomes[i])), ub.undiscounted(offer(outcomes[i])))
        assert reach.distance(p) == pytest.approx(distance_to(p, front), abs=1e-12)
        assert hull.distance(p) == pytest.approx(dist_to_convex_hull_frontier(p, front), abs=1e-9)


def _folder(tmp_path, buyer_eval, seller_eval):
    """A one-issue Genius folder with a real issue and the given evaluator elements."""
    tmp_path.mkdir()
    dom = ('<negotiation_template><utility_space><objective index="0" name="root" type="objective">'
           '<issue index="1" name="price" type="real" etype="real" vtype="real"><range lowerbound="0" upperbound="10"/></issue>'
           '</objective></utility_space></negotiation_template>')
    (tmp_path / "domain.xml").write_text(dom)
    for name, ev in (("buyer", buyer_eval), ("seller", seller_eval)):
        (tmp_path / f"p_{name}.xml").write_text(
            '<utility_space type="linear"><objective index="0" name="root" type="objective">'
            f'<issue index="1" name="price" type="real" etype="real" vtype="real">{ev}</issue>'
            '<weight index="1" value="1.0"/></objective><reservation value="0.1"/></utility_space>')
    return tmp_path


def test_real_issues_linear_0_to_1_become_continuous_and_others_are_errors(tmp_path):
    up, down = '<evaluator ftype="linear" slope="0.1" offset="0"/>', '<evaluator ftype="linear" slope="-0.1" offset="1"/>'
    s = Scenario.model_validate(genius_to_scenario(read_genius_folder(_folder(tmp_path / "a", up, down))))
    assert s.issues[0].type == "continuous" and s.issues[0].range == (0.0, 10.0)
    assert (s.utilities["buyer"].prefer, s.utilities["seller"].prefer) == ({"price": "high"}, {"price": "low"})
    assert utility_of(s, "seller").undiscounted({"price": 2.5}) == pytest.approx(0.75)
    with pytest.raises(ConfigError, match="real issue 'price': its linear evaluator does not run from 0"):
        genius_to_scenario(read_genius_folder(_folder(tmp_path / "b", up, '<evaluator ftype="linear" slope="0.05" offset="0"/>')))
    with pytest.raises(ConfigError, match="'triangular' evaluator; simlab expresses linear evaluators only"):
        read_genius_folder(_folder(tmp_path / "c", up, '<evaluator ftype="triangular" parameter0="0" parameter1="10" parameter2="5"/>'))
