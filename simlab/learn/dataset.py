"""Offline datasets from the run store: `build_dataset`, `write_dataset`, `load_dataset`, `Dataset`.

One row per decision of a chosen role (``simlab dataset STUDY_ID --out PATH.parquet``):
the observation (`simlab.strategies.features.featurise`, the environment's
vector), the emotion shown as the action, the behaviour policy's probability of
that action (``decision_json["propensity"]``, logged by every stochastic
strategy), the reward (`simlab.learn.reward`, the environment's), the next
observation, done, and the run / case / seed / counterpart ids.

A decision whose strategy logged no propensity (a deterministic strategy, or a
run from before propensities were logged) has ``propensity`` null and
``has_propensity`` false: it is marked, never guessed. Estimators that need
propensities (importance sampling) refuse such a dataset with a clear message.

The Parquet file's schema metadata holds the label space, the role, the feature
names and the study id, so a model trained on it records what it saw.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simlab.config.models import Scenario
from simlab.emotion.labels import get_space, space_name
from simlab.errors import ConfigError, StoreError
from simlab.learn.reward import concession_reward, rescaled_final, their_offer_utilities
from simlab.store.store import RunStore
from simlab.strategies.features import feature_names, featurise
from simlab.strategies.utility import utility_of

_RUNS_SQL = """
    SELECT run_id, seed, replicate, condition, agents_json, spec_json, agreement, utilities_json, scenario
    FROM runs WHERE study_id = ? AND status = 'done' AND coalesce(protocol, 'alternating_offers') = 'alternating_offers'
    ORDER BY run_id
"""
_TURNS_SQL = """
    SELECT t.run_id, t.turn_index, t.round, t.role, t.action, t.offer_json, t.emotion, t.decision_json,
           t.detected_json, t.belief_json
    FROM turns t JOIN runs r USING (run_id)
    WHERE r.study_id = ? AND r.status = 'done'
    ORDER BY t.run_id, t.turn_index
"""


def _load(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) and text else None


@dataclass
class Dataset:
    """Decisions as arrays (rows aligned)."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    dones: np.ndarray
    propensities: np.ndarray  # NaN where not logged
    has_propensity: np.ndarray
    run_ids: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    counterparts: np.ndarray | None = None  # counterpart profile id per row (from the store)

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    @property
    def emotions(self) -> tuple[str, ...]:
        return tuple(self.meta["emotions"])

    def episodes(self) -> list[np.ndarray]:
        """Row indices of each run (in decision order): a run ends at done or where the run id changes."""
        n = len(self)
        if n == 0:
            return []
        boundary = self.dones.copy()
        boundary[:-1] |= self.run_ids[1:] != self.run_ids[:-1]
        boundary[-1] = True
        ends = np.flatnonzero(boundary)
        starts = np.concatenate([[0], ends[:-1] + 1])
        return [np.arange(a, b + 1) for a, b in zip(starts, ends)]

    def only_counterparts(self, ids: list[str]) -> "Dataset":
        """The rows against the counterpart profiles `ids` (ConfigError when none match)."""
        if self.counterparts is None:
            raise ConfigError("this dataset records no counterpart ids; rebuild it with `simlab dataset`")
        rows = np.flatnonzero(np.isin(self.counterparts, ids))
        if len(rows) == 0:
            raise ConfigError(f"counterparts {ids}: no decisions against them (the dataset has {sorted(set(self.counterparts))})")
        return Dataset(self.obs[rows], self.actions[rows], self.rewards[rows], self.next_obs[rows], self.dones[rows],
                       self.propensities[rows], self.has_propensity[rows], self.run_ids[rows], self.meta,
                       f"{self.digest}:{','.join(sorted(ids))}", self.counterparts[rows])

    def require_propensities(self, what: str) -> None:
        """StoreError unless every row carries its behaviour propensity."""
        missing = int((~self.has_propensity).sum())
        if missing:
            raise StoreError(
                f"{what} needs the behaviour policy's propensities, but {missing} of {len(self)} decisions have none "
                "(their strategy logged no 'propensity'); collect data with a stochastic strategy such as "
                "exploring_selector, or use FQE only"
            )


def decision_rows(
    turns: list[dict[str, Any]], run: Mapping[str, Any], role: str, emotions: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The dataset rows of one stored run for `role` (turn dicts as the session keeps them)."""
    spec = _load(run["spec_json"]) or {}
    scenario = Scenario.model_validate(spec["scenario"])
    if role not in scenario.roles:
        raise ConfigError(f"--role: '{role}' is not a role of scenario {scenario.id} ({', '.join(scenario.roles)})")
    utility = utility_of(scenario, role)
    deadline = scenario.deadline
    index = {e: i for i, e in enumerate(emotions)}
    mine = [i for i, t in enumerate(turns) if t["role"] == role]
    utilities = _load(run["utilities_json"]) or {}
    final = rescaled_final(bool(run["agreement"]), (utilities.get("final") or {}).get(role), utility.reservation)
    agents = _load(run["agents_json"]) or {}
    other = scenario.counterpart(role)
    case_id = (spec["scenario"].get("facts") or {}).get("case_id")
    rows = []
    for k, i in enumerate(mine):
        t = turns[i]
        if t["emotion"] not in index:
            raise ConfigError(
                f"run {run['run_id']} turn {i}: emotion '{t['emotion']}' is not in the label space "
                f"({', '.join(emotions)}); pass --emotions with the space the study used"
            )
        end = mine[k + 1] if k + 1 < len(mine) else len(turns)
        done = k + 1 == len(mine)
        reward = concession_reward(
            their_offer_utilities(turns[: i + 1], role, utility), their_offer_utilities(turns[:end], role, utility)
        )
        if done:
            reward += final
        next_round = turns[end]["round"] if end < len(turns) else len(turns) // 2 + 1
        decision = t.get("decision") or {}
        p = decision.get("propensity")
        rows.append({
            "run_id": run["run_id"],
            "turn_index": int(t["turn_index"]),
            "seed": int(run["seed"]),
            "replicate": int(run["replicate"]),
            "case_id": None if case_id is None else str(case_id),
            "counterpart": agents.get(other),
            "agent": agents.get(role),
            "obs": featurise(turns[:i], role, utility, int(t["round"]), deadline, emotions),
            "action": index[t["emotion"]],
            "emotion": t["emotion"],
            "propensity": float(p) if isinstance(p, (int, float)) else None,
            "has_propensity": isinstance(p, (int, float)),
            "reward": float(reward),
            "concession_reward": float(reward - (final if done else 0.0)),
            "next_obs": featurise(turns[:end], role, utility, int(next_round), deadline, emotions),
            "done": done,
        })
    return rows


def build_dataset(
    store_path: str | Path, study_id: str, role: str | None = None, emotions: str = "ekman7",
    concession_weight: float = 1.0, final_weight: float = 1.0,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows, metadata) of `study_id` for `role` (default: each run scenario's first role)."""
    space = get_space(emotions)
    store = RunStore(store_path, read_only=True)
    runs = store.query(_RUNS_SQL, [study_id])
    if runs.empty:
        raise StoreError(f"study '{study_id}' has no finished negotiation runs in {store.path}; check the id with simlab summary")
    by_run: dict[str, list[dict[str, Any]]] = {}
    for r in store.query(_TURNS_SQL, [study_id]).to_dict("records"):
        by_run.setdefault(r["run_id"], []).append({
            "turn_index": r["turn_index"], "round": r["round"], "role": r["role"], "action": r["action"],
            "offer": _load(r["offer_json"]), "emotion": r["emotion"], "decision": _load(r["decision_json"]),
            "detected": _load(r["detected_json"]), "belief": _load(r["belief_json"]),
        })
    rows: list[dict[str, Any]] = []
    roles_used = set()
    for run in runs.to_dict("records"):
        spec = _load(run["spec_json"]) or {}
        run_role = role or spec["scenario"]["roles"][0]
        roles_used.add(run_role)
        for row in decision_rows(by_run.get(run["run_id"], []), run, run_role, space):
            if concession_weight != 1.0 or final_weight != 1.0:
                final = row["reward"] - row["concession_reward"]
                row["reward"] = concession_weight * row["concession_reward"] + final_weight * final
            rows.append(row)
    if not rows:
        raise StoreError(f"study '{study_id}': no decisions of role {role or '(first role)'} in its runs")
    meta = {
        "study_id": study_id,
        "role": sorted(roles_used)[0] if len(roles_used) == 1 else sorted(roles_used),
        "emotions": list(space),
        "space": space_name(space),
        "feature_names": feature_names(space),
        "n_features": len(feature_names(space)),
        "reward": {"concession_weight": concession_weight, "final_weight": final_weight},
        "n_runs": int(len(runs)),
        "propensity_coverage": float(np.mean([r["has_propensity"] for r in rows])),
    }
    return rows, meta


def write_dataset(rows: list[dict[str, Any]], meta: dict[str, Any], out: str | Path) -> Path:
    """Write rows to Parquet with `meta` in the schema metadata (key ``simlab``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(out)
    if path.suffix != ".parquet":
        raise ConfigError(f"--out {path}: give a .parquet file")
    path.parent.mkdir(parents=True, exist_ok=True)
    cols: dict[str, Any] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        if key in ("obs", "next_obs"):
            cols[key] = pa.array([v.tolist() for v in values], type=pa.list_(pa.float32()))
        else:
            cols[key] = pa.array(values)
    table = pa.table(cols).replace_schema_metadata({"simlab": json.dumps(meta, sort_keys=True)})
    pq.write_table(table, path)
    return path


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_dataset(path: str | Path) -> Dataset:
    """A dataset written by `write_dataset`; ConfigError for a missing or foreign file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"dataset {p} not found; build one with `simlab dataset STUDY_ID --out {p}`")
    try:
        table = pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ConfigError(f"dataset {p} is not a Parquet file ({exc}); build one with `simlab dataset`") from None
    raw = (table.schema.metadata or {}).get(b"simlab")
    if raw is None:
        raise ConfigError(f"dataset {p} was not written by `simlab dataset` (no simlab metadata)")
    meta = json.loads(raw)
    need = {"obs", "action", "reward", "next_obs", "done", "propensity", "has_propensity", "run_id"}
    missing = need - set(table.column_names)
    if missing:
        raise ConfigError(f"dataset {p} lacks columns {sorted(missing)}; rebuild it with `simlab dataset`")
    d = table.to_pydict()
    n = len(d["action"])
    dim = int(meta["n_features"])
    prop = np.array([np.nan if v is None else v for v in d["propensity"]], dtype=float)
    return Dataset(
        obs=np.asarray(d["obs"], dtype=np.float32).reshape(n, dim),
        actions=np.asarray(d["action"], dtype=np.int64),
        rewards=np.asarray(d["reward"], dtype=np.float64),
        next_obs=np.asarray(d["next_obs"], dtype=np.float32).reshape(n, dim),
        dones=np.asarray(d["done"], dtype=bool),
        propensities=prop,
        has_propensity=np.asarray(d["has_propensity"], dtype=bool),
        run_ids=np.asarray(d["run_id"]),
        meta=meta,
        digest=file_digest(p),
        counterparts=np.asarray(d["counterpart"]) if "counterpart" in d else None,
    )


def dataset_from_arrays(
    obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray, dones: np.ndarray,
    emotions: tuple[str, ...], propensities: np.ndarray | None = None, run_ids: np.ndarray | None = None,
) -> Dataset:
    """A `Dataset` from arrays (simulations and tests); the digest hashes the arrays."""
    n = len(actions)
    prop = np.full(n, np.nan) if propensities is None else np.asarray(propensities, dtype=float)
    if run_ids is None:
        ends = np.cumsum(np.asarray(dones, dtype=int))
        run_ids = np.array([f"ep{int(e - d)}" for e, d in zip(ends, dones)])
    h = hashlib.sha256()
    for a in (obs, actions, rewards, next_obs, dones, prop):
        h.update(np.ascontiguousarray(a).tobytes())
    return Dataset(
        obs=np.asarray(obs, dtype=np.float32), actions=np.asarray(actions, dtype=np.int64),
        rewards=np.asarray(rewards, dtype=float), next_obs=np.asarray(next_obs, dtype=np.float32),
        dones=np.asarray(dones, dtype=bool), propensities=prop, has_propensity=~np.isnan(prop),
        run_ids=np.asarray(run_ids), meta={"emotions": list(emotions), "n_features": int(np.asarray(obs).shape[1])},
        digest=h.hexdigest(),
    )


def dataset_from_env(env: Any, episodes: int, seed: int, probs: np.ndarray | None = None) -> Dataset:
    """Transitions of `episodes` env episodes under a fixed behaviour distribution (uniform by default).

    Actions are drawn from a numpy generator of `seed`, episode k resets with
    seed ``seed + k``; each row's propensity is the probability of its action.
    """
    n = env.action_space.n
    p = np.full(n, 1.0 / n) if probs is None else np.asarray(probs, dtype=float)
    rng = np.random.default_rng(seed)
    cols: dict[str, list[Any]] = {k: [] for k in ("obs", "a", "r", "next", "done", "p", "run")}
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        done = False
        while not done:
            a = int(rng.choice(n, p=p))
            nxt, r, done, _, _ = env.step(a)
            for key, v in zip(cols, (obs, a, r, nxt, done, p[a], f"{seed}-{k}")):
                cols[key].append(v)
            obs = nxt
    return dataset_from_arrays(np.array(cols["obs"]), np.array(cols["a"]), np.array(cols["r"]), np.array(cols["next"]),
                               np.array(cols["done"]), tuple(env.emotions), np.array(cols["p"]), np.array(cols["run"]))
