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
