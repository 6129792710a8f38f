"""Engine throughput: simlab's scripted engine against NegMAS on the same domain.

Run on demand (never part of ``make test``)::

    .venv/bin/python bench/bench_engine.py                    # both domains (about 3 minutes on 2 cores)
    .venv/bin/python bench/bench_engine.py --domain neutral   # one domain
    .venv/bin/python bench/bench_engine.py --domain neutral --skip-negmas --profile   # where simlab's time goes

Each side runs the same negotiations: 3 issues, a 100-round deadline, a
Boulware opener (Faratin e = 0.2) against a conceder (e = 5), no time discount.
simlab goes through its real engine path: `AlternatingOffers` sessions with
`time_dependent` strategies inside one `NegotiationModel` (Mesa), each step
sending one batch of `ChatRequest`s to the scripted backend (a template
realiser, not an LLM) and applying the replies; only the run store is left
out. NegMAS runs one `SAOMechanism` (``n_steps=100``) per negotiation with two
`AspirationNegotiator`s. Both sides get the same utility functions (issue
ranges, value functions, weights, reservation values, built from the simlab
scenario). Domain objects are built before the clock starts; the two sides run
in alternating chunks so that load from other processes hits both alike. The
script prints both rates, in wall time and in CPU time of this process
(``time.process_time``, which a shared machine's load disturbs less), their
ratios and the agreements side by side and negotiation by negotiation.

Domains (``--domain``):

* ``debt``: scenarios/debt_collection.yaml (creditor opens, Boulware; debtor
  concedes) with deadline 100 and discount 1: amount 30..100 % and fees
  0..100 % continuous, months 1..36 integer, the scenario's weights, ethics
  checks and templates. NegMAS keeps the issue types; with continuous issues
  its default inverter (`AdaptiveInverseUtilityFunction`) switches to BIDS,
  which is slow, so NegMAS runs ``--negmas-n`` (default 100) negotiations here.
* ``neutral``: 3 integer issues 0..9 (1,000 outcomes, which NegMAS presorts
  exactly, its fast case), opposed preferences with the same weights for both
  sides (0.5, 0.3, 0.2), so every outcome's utilities sum to 1 and the
  counterpart's utility does not depend on which equally good offer a side
  picks (the one point where the implementations choose differently, below).

Reservation values are drawn per negotiation (uniform in [0, 0.6], 2 decimals,
from ``--seed``; the same on both sides) so agreement rates, rounds and
utilities vary and can be compared; ``--fixed`` uses the scenario's own.

Protocol alignment (what is the same, what differs):

* Exponents: simlab's target is ``r + (1 - r) * (1 - t ** (1 / e))`` (Faratin).
  NegMAS's `PolyAspiration` is ``1 - t ** x`` scaled to ``[max(r, worst), best]``,
  so ``x = 1 / e``: the Boulware side gets ``aspiration_type=5.0`` and the
  conceder ``0.2``. (NegMAS's named ``"boulware"`` / ``"conceder"`` are x = 4 and
  0.25, i.e. e = 0.25 and 4, so the names are not used.)
* Rounds: a NegMAS step lets each negotiator respond-then-propose once, like a
  simlab round (one turn of each side); the first-added negotiator opens, like
  simlab's ``first_mover``; both count the round in which the accepting turn
  happened.
* Time: simlab uses ``t = round / deadline`` (0.01 .. 1.0); NegMAS's relative
  time is ``(step + 1) / (n_steps + 1)`` (1/101 .. 100/101), which would make it
  lag about one round by the end and never reach its reservation value. The
  aspiration curve given to NegMAS (a `PolyAspiration` subclass) therefore
  reads its time as ``t * 101 / 100``, i.e. simlab's clock; the negotiator,
  inverter and mechanism are NegMAS's own. ``--negmas-native-clock`` drops this.
* Acceptance: both accept an offer worth at least their current target
  (simlab: AC_next, tolerance 1e-9; NegMAS gets ``tolerance=1e-9``, default 1e-3).
* Offers: simlab concedes on its least-weighted issue first, exactly to the
  target, then rounds integer issues to the nearest value (so an offer can sit
  slightly off the target); NegMAS offers the outcome with the lowest utility
  still at or above the target (``worst_in``; on continuous issues BIDS's grid).
  Agreements therefore match closely but not exactly; the comparison shows by
  how much.
"""
from __future__ import annotations

import argparse
import copy
import cProfile
import functools
import gc
import io
import math
import pstats
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simlab.config.loader import load_agent, load_scenario  # noqa: E402
from simlab.config.models import AgentProfile, Scenario  # noqa: E402
from simlab.engine.model import NegotiationModel  # noqa: E402
from simlab.engine.protocols.alternating import AlternatingOffers  # noqa: E402
from simlab.llm.scripted import ScriptedBackend  # noqa: E402
from simlab.strategies.utility import utility_of  # noqa: E402

E_BOULWARE, E_CONCEDER = 0.2, 5.0
DEADLINE = 100


# ---- domains: simlab scenarios (NegMAS's ufuns are derived from them) ------------------------
@functools.lru_cache(maxsize=1)
def _debt_data() -> dict[str, Any]:
    return load_scenario("debt_collection").model_dump()  # a plain name, resolved in scenarios/ (absolute paths are refused)


def debt_scenario(res: tuple[float, float] | None) -> Scenario:
    data = copy.deepcopy(_debt_data())
    data["deadline"] = DEADLINE
    for role, r in zip(data["roles"], res or (None, None)):
        data["utilities"][role]["discount"] = 1.0
        if r is not None:
            data["utilities"][role]["reservation"] = r
    return Scenario.model_validate(data)


def neutral_scenario(res: tuple[float, float] | None) -> Scenario:
    names = ("price", "quantity", "delivery")
    res = res or (0.35, 0.25)
    return Scenario.model_validate(
        {
            "id": "bench-neutral-v1",
            "domain": "bench",
            "roles": ["seller", "buyer"],
            "first_mover": "seller",
            "deadline": DEADLINE,
            "issues": [{"name": n, "type": "integer", "range": [0, 9]} for n in names],
            "utilities": {
                "seller": {"weights": dict(zip(names, (0.5, 0.3, 0.2))), "prefer": dict.fromkeys(names, "high"),
                           "reservation": res[0], "discount": 1.0},
                "buyer": {"weights": dict(zip(names, (0.5, 0.3, 0.2))), "prefer": dict.fromkeys(names, "low"),
                          "reservation": res[1], "discount": 1.0},
            },
        }
    )


def profiles(scenario: Scenario) -> dict[str, AgentProfile]:
    """The first mover is the Boulware side, the other the conceder."""
    first = scenario.first_mover or scenario.roles[0]
    second = scenario.counterpart(first)
    if scenario.id.startswith("debt-collection"):
        boulware = load_agent("boulware_creditor")  # e = 0.2
        assert boulware.strategy.params.get("e") == E_BOULWARE
    else:
        boulware = AgentProfile.model_validate(
            {"id": f"boulware_{first}", "role": first, "strategy": {"name": "time_dependent", "params": {"e": E_BOULWARE}}}
        )
    conceder = AgentProfile.model_validate(
        {"id": f"conceder_{second}", "role": second, "strategy": {"name": "time_dependent", "params": {"e": E_CONCEDER}}}
    )
    return {first: boulware, second: conceder}


DOMAINS = {"debt": debt_scenario, "neutral": neutral_scenario}


def draw_reservations(n: int, seed: int) -> list[tuple[float, float]]:
    draws = np.round(np.random.default_rng(seed).uniform(0.0, 0.6, size=(n, 2)), 2)
    return [(float(a), float(b)) for a, b in draws]


@dataclass
class Result:
    agreement: tuple[float, ...] | None
    rounds: int
    u_first: float  # Boulware opener
    u_second: float  # conceder


# ---- simlab -------------------------------------------------------------------------------
def run_simlab(scenarios: list[Scenario], offset: int, population: int, seed: int) -> tuple[float, float, list[Result]]:
    """Negotiations through one NegotiationModel, `population` sessions in flight; (wall s, CPU s, results)."""
    backend = ScriptedBackend()
    first = scenarios[0].first_mover or scenarios[0].roles[0]
    second = scenarios[0].counterpart(first)
    names = [i.name for i in scenarios[0].issues]
    profs = profiles(scenarios[0])
    results: list[Result | None] = [None] * len(scenarios)
    t0, c0 = time.perf_counter(), time.process_time()
    model = NegotiationModel(backend, seed=seed)
    index: dict[str, int] = {}
    nxt = 0

    def refill() -> None:
        nonlocal nxt
        while nxt < len(scenarios) and len(model.sessions) < population:
            run_id = f"bench-{offset + nxt}"
            index[run_id] = nxt
            rng = np.random.default_rng([seed, offset + nxt])
            model.add_session(AlternatingOffers(run_id, scenarios[nxt], profs, rng))
            nxt += 1

    refill()
    while model.sessions:
        model.step()
        for s in model.just_finished:
            if s.error is not None:
                raise RuntimeError(f"{s.run_id} failed: {s.error}")
            final = s.final_utilities()
            agreement = tuple(s.agreement[n] for n in names) if s.agreement is not None else None
            results[index[s.run_id]] = Result(agreement, s.rounds, final[first], final[second])
        refill()
    return time.perf_counter() - t0, time.process_time() - c0, results  # type: ignore[return-value]


# ---- NegMAS -------------------------------------------------------------------------------------
def negmas_domain(scenarios: list[Scenario]) -> tuple[Any, list[tuple[Any, Any]]]:
    """The outcome space and (first, second) ufuns per negotiation, from each scenario's UtilityFunctions."""
    from negmas import make_issue, make_os
    from negmas.preferences import LinearAdditiveUtilityFunction
    from negmas.preferences.value_fun import AffineFun, TableFun

    sc0 = scenarios[0]
    issues = [
        make_issue((int(i.range[0]), int(i.range[1])) if i.type == "integer" else (float(i.range[0]), float(i.range[1])), i.name)
        for i in sc0.issues
    ]
    os_ = make_os(issues)
    first = sc0.first_mover or sc0.roles[0]

    def ufun(sc: Scenario, role: str) -> Any:
        u = utility_of(sc, role)  # simlab's own utility: same ranges, directions, normalised weights, reservation
        values = {}
        for k, spec in enumerate(sc.issues):
            lo, hi, inc = float(u.lows[k]), float(u.highs[k]), bool(u.increasing[k])
            span = hi - lo
            if spec.type == "integer":  # the exact values simlab's normalisation gives
                values[spec.name] = TableFun(
                    {v: ((v - lo) / span if inc else 1.0 - (v - lo) / span) for v in range(int(lo), int(hi) + 1)}
                )
            else:
                values[spec.name] = AffineFun(1.0 / span, -lo / span) if inc else AffineFun(-1.0 / span, hi / span)
        return LinearAdditiveUtilityFunction(
            values=values, weights={n: float(w) for n, w in zip(u.issues, u.weights)}, outcome_space=os_,
            reserved_value=float(u.reservation),
        )

    return os_, [(ufun(sc, first), ufun(sc, sc.counterpart(first))) for sc in scenarios]


_CLOCK_CLASS: list[type] = []


def aspiration(e: float, native_clock: bool) -> Any:
    """NegMAS's polynomial aspiration for Faratin exponent `e` (exponent 1 / e), by default on simlab's clock."""
    if native_clock:
        return 1.0 / e
    if not _CLOCK_CLASS:
        from negmas.negotiators.helpers import PolyAspiration

        class SimlabClock(PolyAspiration):
            """NegMAS's relative time (step + 1) / (n_steps + 1) rescaled to simlab's round / deadline."""

            def utility_at(self, t: float) -> float:
                return super().utility_at(min(1.0, t * (DEADLINE + 1) / DEADLINE))

        _CLOCK_CLASS.append(SimlabClock)
    return _CLOCK_CLASS[0](1.0, 1.0 / e)


def run_negmas(os_: Any, ufuns: list[tuple[Any, Any]], native_clock: bool = False) -> tuple[float, float, list[Result]]:
    """One SAOMechanism per negotiation; (wall s, CPU s, results)."""
    from negmas import AspirationNegotiator, SAOMechanism

    results = []
    t0, c0 = time.perf_counter(), time.process_time()
    for u1, u2 in ufuns:
        m = SAOMechanism(outcome_space=os_, n_steps=DEADLINE, time_limit=None)
        # Faratin e -> PolyAspiration exponent 1 / e; the first added negotiator opens
        m.add(AspirationNegotiator(aspiration_type=aspiration(E_BOULWARE, native_clock), tolerance=1e-9), ufun=u1)
        m.add(AspirationNegotiator(aspiration_type=aspiration(E_CONCEDER, native_clock), tolerance=1e-9), ufun=u2)
        state = m.run()
        a = state.agreement
        results.append(
            Result(
                tuple(float(v) for v in a) if a is not None else None,
                int(state.step),
                float(u1(a)) if a is not None else float(u1.reserved_value),
                float(u2(a)) if a is not None else float(u2.reserved_value),
            )
        )
    return time.perf_counter() - t0, time.process_time() - c0, results


# ---- report -----------------------------------------------------------------------------------------
def summary(results: list[Result]) -> dict[str, float]:
    agreed = [r for r in results if r.agreement is not None]
    nan = math.nan
    return {
        "agreement rate": len(agreed) / len(results),
        "mean agreement round": statistics.fmean(r.rounds for r in agreed) if agreed else nan,
        "mean u Boulware (all)": statistics.fmean(r.u_first for r in results),
        "mean u conceder (all)": statistics.fmean(r.u_second for r in results),
        "mean u Boulware | agreement": statistics.fmean(r.u_first for r in agreed) if agreed else nan,
        "mean u conceder | agreement": statistics.fmean(r.u_second for r in agreed) if agreed else nan,
    }


def compare(a: list[Result], b: list[Result]) -> dict[str, float]:
    """Negotiation by negotiation: how often and how closely the two agree."""
    both = [(x, y) for x, y in zip(a, b) if x.agreement is not None and y.agreement is not None]
    nan = math.nan
    return {
        "same agreement / no agreement": statistics.fmean((x.agreement is None) == (y.agreement is None) for x, y in zip(a, b)),
        "identical agreed outcome": statistics.fmean(
            x.agreement is not None and x.agreement == y.agreement for x, y in zip(a, b)
        ),
        "round within +-1 (both agreed)": statistics.fmean(abs(x.rounds - y.rounds) <= 1 for x, y in both) if both else nan,
        "mean |round diff| (both agreed)": statistics.fmean(abs(x.rounds - y.rounds) for x, y in both) if both else nan,
        "mean |u Boulware diff|": statistics.fmean(abs(x.u_first - y.u_first) for x, y in zip(a, b)),
        "mean |u conceder diff|": statistics.fmean(abs(x.u_second - y.u_second) for x, y in zip(a, b)),
    }


def print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    print(title)
    cols = list(rows)
    print(f"  {'':34}" + "".join(f"{c:>12}" for c in cols))
    for key in next(iter(rows.values())):
        print(f"  {key:34}" + "".join(f"{rows[c][key]:>12.4f}" for c in cols))


def chunks(n: int, k: int) -> list[tuple[int, int]]:
    k = max(1, min(k, n))
    edges = [round(i * n / k) for i in range(k + 1)]
    return [(edges[i], edges[i + 1]) for i in range(k) if edges[i + 1] > edges[i]]


def bench_domain(name: str, args: argparse.Namespace) -> float | None:
    n_sim = args.n
    n_neg = args.negmas_n if args.negmas_n is not None else (100 if name == "debt" else args.n)
    n_all = max(n_sim, n_neg)
    res = [None] * n_all if args.fixed else draw_reservations(n_all, args.seed)
    scenarios = [DOMAINS[name](r) for r in res]  # type: ignore[arg-type]
    sc0 = scenarios[0]
    first = sc0.first_mover or sc0.roles[0]
    kinds = ", ".join(f"{i.name} {i.range[0]:g}..{i.range[1]:g} {i.type}" for i in sc0.issues)
    print(f"\n=== domain {name} ({sc0.id}): {kinds}; deadline {DEADLINE} rounds, no discount")
    print(f"    {first} opens with Boulware e={E_BOULWARE}, {sc0.counterpart(first)} concedes with e={E_CONCEDER}; "
          f"reservations {'from the scenario' if args.fixed else 'drawn per negotiation from U[0, 0.6]'}")

    # warm-up both sides (imports, lazily built tables), then time in alternating chunks
    run_simlab(scenarios[:10], 10**6, args.population, args.seed)
    if not args.skip_negmas:
        import negmas

        os_, ufuns = negmas_domain(scenarios[:n_neg])
        run_negmas(os_, ufuns[:2], args.negmas_native_clock)
    prof = cProfile.Profile() if args.profile else None
    s_time = n_time = s_cpu = n_cpu = 0.0
    s_res: list[Result] = []
    n_res: list[Result] = []
    sim_chunks = chunks(n_sim, args.chunks)
    neg_chunks = chunks(n_neg, args.chunks) if not args.skip_negmas else []
    for k in range(max(len(sim_chunks), len(neg_chunks))):
        gc.collect()
        if k < len(sim_chunks):
            a, b = sim_chunks[k]
            if prof:
                prof.enable()
            dt, dc, r = run_simlab(scenarios[a:b], a, args.population, args.seed)
            if prof:
                prof.disable()
            s_time += dt
            s_cpu += dc
            s_res += r
        gc.collect()
        if k < len(neg_chunks):
            a, b = neg_chunks[k]
            dt, dc, r = run_negmas(os_, ufuns[a:b], args.negmas_native_clock)
            n_time += dt
            n_cpu += dc
            n_res += r
    s_rate, s_cpu_rate = n_sim / s_time, n_sim / s_cpu
    turns = sum(2 * r.rounds for r in s_res)
    print(f"simlab  {n_sim:5d} negotiations in {s_time:7.2f} s = {s_rate:9.1f} negotiations/s; "
          f"{s_cpu:7.2f} CPU s = {s_cpu_rate:9.1f} per CPU second   "
          f"(scripted backend, NegotiationModel population {args.population}, ~{s_cpu / turns * 1e6:.1f} CPU us per turn, "
          f"{turns / n_sim:.1f} turns per negotiation)")
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    if args.skip_negmas:
        print_table("agreements:", {"simlab": summary(s_res)})
        return None
    n_rate, n_cpu_rate = n_neg / n_time, n_neg / n_cpu
    n_turns = sum(2 * r.rounds for r in n_res)
    clock = "NegMAS's own clock" if args.negmas_native_clock else "simlab's clock"
    print(f"NegMAS  {n_neg:5d} negotiations in {n_time:7.2f} s = {n_rate:9.2f} negotiations/s; "
          f"{n_cpu:7.2f} CPU s = {n_cpu_rate:9.2f} per CPU second   "
          f"(negmas {negmas.__version__}, SAOMechanism n_steps={DEADLINE}, 2 x AspirationNegotiator, {clock}, "
          f"~{n_cpu / n_turns * 1e6:.1f} CPU us per negotiator turn)")
    ratio, cpu_ratio = s_rate / n_rate, s_cpu_rate / n_cpu_rate
    print(f"ratio   simlab / NegMAS = {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU time   "
          f"(target >= 20x: {'met' if min(ratio, cpu_ratio) >= 20 else 'NOT met'})")
    k = min(n_sim, n_neg)
    print_table(f"agreements (the first {k} negotiations on each side):",
                {"simlab": summary(s_res[:k]), "NegMAS": summary(n_res[:k])})
    print(f"negotiation by negotiation (the first {k}):")
    for key, v in compare(s_res[:k], n_res[:k]).items():
        print(f"  {key:34}{v:>12.4f}")
    return ratio


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--domain", choices=["both", *DOMAINS], default="both")
    ap.add_argument("--n", type=int, default=1000, help="simlab negotiations per domain (default 1000)")
    ap.add_argument("--negmas-n", type=int, default=None,
                    help="NegMAS negotiations per domain (default: --n on neutral, 100 on debt)")
    ap.add_argument("--fixed", action="store_true", help="the scenario's own reservation values in every negotiation")
    ap.add_argument("--population", type=int, default=64, help="simlab sessions in flight per model step (batch size)")
    ap.add_argument("--chunks", type=int, default=5, help="alternate simlab and NegMAS in this many chunks")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="cProfile the simlab side and print the top functions")
    ap.add_argument("--skip-negmas", action="store_true", help="simlab only (no ratio)")
    ap.add_argument("--negmas-native-clock", action="store_true",
                    help="NegMAS aspiration on its own clock (step + 1) / (n_steps + 1) instead of round / deadline")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    for name in (DOMAINS if args.domain == "both" else [args.domain]):
        bench_domain(name, args)
    print(f"\n(total wall time {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
