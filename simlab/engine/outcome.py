"""Outcome metrics of a bilateral negotiation over linear-additive utilities.

`ParetoFrontier` is computed exactly: with linear-additive utilities every
issue contributes either a segment trading one side's utility for the other's
(opposed preferences) or a point that is best for both (aligned preferences),
so the set of attainable utility pairs is a zonotope whose Pareto frontier is
the polyline obtained by handing opposed issues from B to A in order of
decreasing weight ratio ``w_A / w_B`` (the classic greedy / "integrative
bargaining" construction; cf. Raiffa 1982). Integer issues are treated as
continuous for the frontier. The Nash bargaining point maximises
``(u_A - r_A)(u_B - r_B)`` on the frontier (Nash 1950), found analytically on
each segment.

With discrete issues the same construction gives the frontier of the *convex
hull* of the attainable utility pairs: each issue contributes the upper-right
chain of the hull of its labels' (w_A u_A, w_B u_B) points, and the chains of
all issues are merged by slope (a Minkowski sum). That frontier can pass
between outcomes. `ReachableFrontier` is the other one: the Pareto-optimal
outcomes a negotiation can actually agree on (the discrete outcome space, every
integer of an integer issue), with its Nash point among those outcomes and the
distance to the nearest of them, as NegMAS computes them (`pareto_frontier`,
`nash_points`). Reports name which frontier a column uses.
"""
from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.strategies.utility import UtilityFunction
from simlab.errors import ConfigError


@dataclass(frozen=True)
class ParetoFrontier:
    """Vertices (n, 2) of the frontier in (u_A, u_B), u_A increasing."""

    vertices: np.ndarray

    @classmethod
    def from_utilities(cls, ua: UtilityFunction, ub: UtilityFunction) -> "ParetoFrontier":
        own_ranges = not (np.array_equal(ua.lows, ub.lows) and np.array_equal(ua.highs, ub.highs))
        if getattr(ua, "_discrete", None) or getattr(ub, "_discrete", None) or own_ranges:
            return cls._from_chains(ua, ub)
        wa, wb = ua.weights, ub.weights
        aligned = ua.increasing == ub.increasing
        start = np.array([wa[aligned].sum(), wb[aligned].sum() + wb[~aligned].sum()])
        opposed = np.flatnonzero(~aligned)
        # Hand issues to A, most efficient for A first (largest wa / wb).
        ratio = np.where(wb[opposed] > 0, wa[opposed] / np.maximum(wb[opposed], 1e-300), np.inf)
        order = opposed[np.argsort(-ratio, kind="stable")]
        pts = [start]
        for i in order:
            prev = pts[-1]
            pts.append(prev + np.array([wa[i], -wb[i]]))
        verts = np.array(pts)
        # Drop zero-length steps.
        keep = [0] + [k for k in range(1, len(verts)) if not np.allclose(verts[k], verts[k - 1])]
        verts = verts[keep]
        # Weakly dominated ends: a first step that costs B nothing, a last that gains A nothing.
        while len(verts) > 1 and verts[1][1] >= verts[0][1] - 1e-15:
            verts = verts[1:]
        while len(verts) > 1 and verts[-2][0] >= verts[-1][0] - 1e-15:
            verts = verts[:-1]
        return cls(verts)

    @classmethod
    def _from_chains(cls, ua: UtilityFunction, ub: UtilityFunction) -> "ParetoFrontier":
        """Hull frontier with discrete issues or role-specific ranges: per-issue upper-right hull chains merged by slope."""
        start = np.zeros(2)
        edges: list[tuple[float, int, np.ndarray]] = []
        for k in range(len(ua.issues)):
            if k in ua._discrete:
                n = len(ua._discrete[k][0])
                pos = np.arange(n, dtype=float)
            else:
                # each role's value is linear inside its own range and flat outside: the breakpoints span the hull
                pos = np.unique([float(ua.lows[k]), float(ua.highs[k]), float(ub.lows[k]), float(ub.highs[k])])
            rows_a = np.tile(ua.to_array(ua.best_offer()), (len(pos), 1))
            rows_b = np.tile(ub.to_array(ub.best_offer()), (len(pos), 1))
            rows_a[:, k] = pos
            rows_b[:, k] = pos
            pts = np.column_stack([ua.weights[k] * ua.normalised(rows_a)[:, k], ub.weights[k] * ub.normalised(rows_b)[:, k]])
            chain = _upper_right_chain(pts)
            start += chain[0]
            for j in range(1, len(chain)):
                d = chain[j] - chain[j - 1]
                edges.append((float(d[1] / d[0]), k, d))
        edges.sort(key=lambda e: -e[0])  # gentlest loss for B per unit gained by A first
        verts = [start]
        for _, _, d in edges:
            verts.append(verts[-1] + d)
        return cls(np.array(verts))

    def distance(self, point: tuple[float, float]) -> float:
        """Euclidean distance from `point` to the frontier polyline."""
        p = np.asarray(point, dtype=float)
        v = self.vertices
        if len(v) == 1:
            return float(np.linalg.norm(p - v[0]))
        a, b = v[:-1], v[1:]
        d = b - a
        t = np.clip(np.einsum("ij,ij->i", p - a, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-300), 0.0, 1.0)
        proj = a + t[:, None] * d
        return float(np.min(np.linalg.norm(proj - p, axis=1)))

    def nash_point(self, ra: float, rb: float) -> tuple[float, float] | None:
        """The frontier point maximising the Nash product above (ra, rb); None if none exceeds both."""
        best, best_val = None, -math.inf
        v = self.vertices
        segs = [(v[i], v[i + 1]) for i in range(len(v) - 1)] or [(v[0], v[0])]
        for p0, p1 in segs:
            da, db = p1 - p0
            a0, b0 = p0[0] - ra, p0[1] - rb
            cands = [0.0, 1.0]
            if abs(da * db) > 1e-15:
                cands.append(-(da * b0 + db * a0) / (2 * da * db))
            for s in cands:
                if not 0.0 <= s <= 1.0:
                    continue
                x, y = a0 + s * da, b0 + s * db
                if x >= -1e-12 and y >= -1e-12 and x * y > best_val:
                    best_val, best = x * y, (float(p0[0] + s * da), float(p0[1] + s * db))
        return best


def _upper_right_chain(pts: np.ndarray) -> np.ndarray:
    """The Pareto part of the convex hull of `pts` (m, 2): from the max-B end to the max-A end, slopes falling."""
    order = np.lexsort((pts[:, 1], pts[:, 0]))  # by A ascending (ties: B ascending)
    p = pts[order]
    front = []
    for q in p[::-1]:  # A descending: keep points whose B beats everything with more A
        if not front or q[1] > front[-1][1] + 1e-15:
            front.append(q)
    front = front[::-1]  # A ascending, B descending, mutually non-dominated
    hull: list[np.ndarray] = []
    for q in front:
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0])
            if cross >= -1e-15:  # b lies on or below the segment a-q: not on the concave chain
                hull.pop()
            else:
                break
        hull.append(q)
    return np.array(hull)


@dataclass(frozen=True)
class ReachableFrontier:
    """The Pareto-optimal outcomes of a discrete outcome space, as utility pairs (n, 2), u_A increasing.

    `offers` holds the matching outcomes (label positions / integers, in the utilities' issue order).
    """

    points: np.ndarray
    offers: np.ndarray

    MAX_OUTCOMES = 2_000_000

    @classmethod
    def from_utilities(
        cls, ua: UtilityFunction, ub: UtilityFunction, rational: bool = True, max_outcomes: int | None = None
    ) -> "ReachableFrontier | None":
        """None when an issue is continuous (then every hull point is reachable: use `ParetoFrontier`) or the
        outcome space has more than `max_outcomes` (default `MAX_OUTCOMES`) outcomes.

        `rational` keeps only outcomes worth at least both reservation values
        (individually rational), as NegMAS's `pareto_frontier` does; False gives
        the whole Pareto set.
        """
        axes = []
        for k in range(len(ua.issues)):
            if k in getattr(ua, "_discrete", {}):
                axes.append(np.arange(len(ua._discrete[k][0]), dtype=float))
            else:
                # either role may propose inside its own range (utilities.ROLE.ranges): enumerate both
                lo, hi = float(min(ua.lows[k], ub.lows[k])), float(max(ua.highs[k], ub.highs[k]))
                integer = getattr(ua, "integer", ())
                if not (k < len(integer) and integer[k]):
                    return None
                axes.append(np.arange(lo, hi + 1.0))
        if int(np.prod([len(a) for a in axes])) > (cls.MAX_OUTCOMES if max_outcomes is None else max_outcomes):
            return None
        grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T
        u = np.column_stack([ua.evaluate(grid), ub.evaluate(grid)])
        if rational:
            ok = (u[:, 0] >= ua.reservation) & (u[:, 1] >= ub.reservation)
            if not ok.any():
                return cls(np.zeros((0, 2)), np.zeros((0, len(axes))))
            u, grid = u[ok], grid[ok]
        order = np.lexsort((-u[:, 1], -u[:, 0]))  # A descending, then B descending
        keep = []
        best_b = -np.inf
        for i in order:
            if u[i, 1] > best_b + 1e-12:
                keep.append(i)
                best_b = u[i, 1]
        keep = np.array(keep[::-1])  # A ascending
        return cls(u[keep], grid[keep])

    def distance(self, point: tuple[float, float]) -> float:
        """Euclidean distance from `point` to the nearest Pareto-optimal outcome (NaN without any)."""
        if len(self.points) == 0:
            return float("nan")
        return float(np.min(np.linalg.norm(self.points - np.asarray(point, dtype=float), axis=1)))

    def nash_point(self, ra: float, rb: float) -> tuple[float, float] | None:
        """The Pareto-optimal outcome maximising (u_A - ra)(u_B - rb) among those above both reservations."""
        gain = self.points - np.array([ra, rb])
        ok = (gain >= -1e-12).all(axis=1)
        if not ok.any():
            return None
        prod = np.where(ok, gain[:, 0] * gain[:, 1], -np.inf)
        i = int(np.argmax(prod))
        return (float(self.points[i, 0]), float(self.points[i, 1]))


# ---- scenario-defined metrics ------------------------------------------------
_BIN = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow, ast.Mod: operator.mod,
}
_CMP = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_FUNCS = {"min": min, "max": max, "abs": abs, "round": round}


def evaluate_metric(expr: str, env: dict[str, Any]) -> float:
    """Evaluate a scenario metric expression (arithmetic, comparisons, `a if c else b`, min/max/abs/round).

    Names are issue values of the agreed offer (0 without agreement), case
    facts, ``agreement`` (1 or 0), ``rounds`` and ``u_<role>``.
    """

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise ConfigError(f"metric '{expr}': unknown name '{node.id}' (known: {', '.join(sorted(env))})")
            return env[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return _BIN[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
            return _CMP[type(node.ops[0])](ev(node.left), ev(node.comparators[0]))
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise ConfigError(f"metric '{expr}': unsupported expression element {type(node).__name__}")

    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ConfigError(f"metric '{expr}' is not a valid expression; use arithmetic over issue and fact names") from None
    try:
        return float(ev(tree))
    except ZeroDivisionError:
        return float("nan")
