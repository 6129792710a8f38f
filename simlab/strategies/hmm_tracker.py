"""Tracking the counterpart's hidden state from the emotions it shows: an HMM.

Defines `HMMParams` (with JSON `save` / `load`), `DEFAULT_HMM`, `ForwardFilter`
(our own online forward filter), `fit_hmm` and `fit_hmm_from_turns` (Baum-Welch
through hmmlearn's `CategoricalHMM`), `save_params`, `load_params` and
`label_sequences_from_turns`.

The model follows the HMM emotion tracking of the emotion-aware credit
negotiation agent (an HMM over the debtor's emotional/behavioural state, whose
belief feeds a game-theoretic choice of the collector's emotion and offer):
hidden counterpart states ``cooperative, distressed, hostile, deceptive`` emit
the emotion label a detector reads from each counterpart message. The filter
accepts either a label or the detector's whole distribution q; a distribution
is used as soft (virtual) evidence in Pearl's sense, with likelihood
``L(s) = sum_o q(o) B[s, o]``, so a confident detection acts like a label and a
flat one barely moves the belief.

After every observation the filtered belief P(state_t | o_1..o_t) is
``normalise(startprob * L)`` at the first step and
``normalise((belief @ transmat) * L)`` after. This equals the smoothed
posterior of the *last* step that hmmlearn's ``predict_proba`` returns for the
same sequence (tests/strategies/test_hmm_tracker.py checks it to 1e-9).

`DEFAULT_HMM` holds illustrative priors (not fitted): cooperative counterparts
mostly show neutral and joy, distressed ones sadness and fear, hostile ones
anger and disgust; deceptive ones mask with neutral and positive displays.
Fit real parameters from a study's turns with `fit_hmm_from_turns`.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simlab.emotion.labels import EKMAN7, get_space, infer_space
from simlab.emotion.mapping import map_distribution, map_label
from simlab.errors import ConfigError

STATES: tuple[str, ...] = ("cooperative", "distressed", "hostile", "deceptive")


@dataclass
class HMMParams:
    """A categorical HMM over named states and emotion labels.

    Attributes:
        states: hidden state names.
        labels: observable emotion labels (columns of `emissionprob`).
        startprob: (n_states,) initial state distribution.
        transmat: (n_states, n_states) row-stochastic transition matrix.
        emissionprob: (n_states, n_labels) row-stochastic emission matrix.
        meta: JSON-serialisable provenance (how it was fitted, log-likelihood ...).
    """

    states: tuple[str, ...]
    labels: tuple[str, ...]
    startprob: np.ndarray
    transmat: np.ndarray
    emissionprob: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.states = tuple(str(s) for s in self.states)
        self.labels = tuple(str(x) for x in self.labels)
        self.startprob = np.asarray(self.startprob, dtype=float)
        self.transmat = np.asarray(self.transmat, dtype=float)
        self.emissionprob = np.asarray(self.emissionprob, dtype=float)
        self.validate()

    def validate(self) -> None:
        n, m = len(self.states), len(self.labels)
        shapes = {
            "startprob": (self.startprob.shape, (n,)),
            "transmat": (self.transmat.shape, (n, n)),
            "emissionprob": (self.emissionprob.shape, (n, m)),
        }
        for name, (got, want) in shapes.items():
            if got != want:
                raise ConfigError(f"HMM {name} has shape {got}, expected {want}.")
        for name, arr in (("startprob", self.startprob[None, :]), ("transmat", self.transmat),
                          ("emissionprob", self.emissionprob)):
            if np.any(arr < 0) or not np.allclose(arr.sum(axis=1), 1.0, atol=1e-6):
                raise ConfigError(f"HMM {name} rows must be non-negative and sum to 1.")

    def to_dict(self) -> dict[str, Any]:
        return {
            "states": list(self.states),
            "labels": list(self.labels),
            "startprob": self.startprob.tolist(),
            "transmat": self.transmat.tolist(),
            "emissionprob": self.emissionprob.tolist(),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HMMParams":
        try:
            return cls(
                states=tuple(data["states"]),
                labels=tuple(data["labels"]),
                startprob=np.array(data["startprob"], dtype=float),
                transmat=np.array(data["transmat"], dtype=float),
                emissionprob=np.array(data["emissionprob"], dtype=float),
                meta=dict(data.get("meta", {})),
            )
        except KeyError as exc:
            raise ConfigError(f"HMM parameters lack the field {exc.args[0]!r}.") from None

    def save(self, path: str | Path) -> Path:
        """Write the parameters as JSON to `path`; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "HMMParams":
        """Read parameters written by `save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no HMM parameter file at {path}: fit one with `simlab fit hmm`.") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def save_params(params: HMMParams, path: str | Path) -> Path:
    """Write `params` as JSON to `path`."""
    return params.save(path)


def load_params(path: str | Path) -> HMMParams:
    """Read HMM parameters written by `save_params`."""
    return HMMParams.load(path)


DEFAULT_HMM = HMMParams(
    states=STATES,
    labels=EKMAN7,
    startprob=np.array([0.40, 0.25, 0.15, 0.20]),
    transmat=np.array(
        [
            [0.85, 0.05, 0.05, 0.05],
            [0.08, 0.80, 0.08, 0.04],
            [0.08, 0.06, 0.80, 0.06],
            [0.04, 0.03, 0.03, 0.90],
        ]
    ),
    # columns: neutral, joy, sadness, anger, fear, surprise, disgust
    emissionprob=np.array(
        [
            [0.35, 0.40, 0.05, 0.03, 0.05, 0.10, 0.02],
            [0.15, 0.03, 0.40, 0.07, 0.30, 0.03, 0.02],
            [0.10, 0.02, 0.03, 0.50, 0.03, 0.04, 0.28],
            [0.40, 0.25, 0.10, 0.05, 0.05, 0.10, 0.05],
        ]
    ),
    meta={"source": "illustrative priors (simlab DEFAULT_HMM), not fitted"},
)


def resolve_params(spec: HMMParams | Mapping[str, Any] | str | Path | None) -> HMMParams:
    """`DEFAULT_HMM` for None, else parameters from an object, a dict or a JSON path."""
    if spec is None:
        return DEFAULT_HMM
    if isinstance(spec, HMMParams):
        return spec
    if isinstance(spec, Mapping):
        return HMMParams.from_dict(spec)
    return HMMParams.load(spec)


def evidence_vector(
    observation: str | Mapping[str, float] | None, labels: Sequence[str]
) -> np.ndarray | None:
    """The observation as a distribution over `labels` (None when there is no evidence).

    A label outside `labels` and a distribution over another space are mapped
    with `simlab.emotion.mapping`.
    """
    if observation is None:
        return None
    labels = tuple(labels)
    if isinstance(observation, str):
        if observation not in labels:
            try:
                observation = map_label(observation, labels)
            except (KeyError, ValueError, ConfigError):
                return None
        q = np.zeros(len(labels))
        q[labels.index(observation)] = 1.0
        return q
    dist = {str(k): float(v) for k, v in observation.items() if v is not None}
    if not dist or sum(max(v, 0.0) for v in dist.values()) <= 0:
        return None
    if not set(dist) <= set(labels):
        try:
            dist = map_distribution(dist, labels, src=infer_space(dist))
        except (KeyError, ValueError, ConfigError):
            return None
    q = np.array([max(dist.get(x, 0.0), 0.0) for x in labels])
    return q / q.sum()


class ForwardFilter:
    """Online forward filtering: P(state_t | o_1..o_t) after every observation.

    `update` takes a label or a distribution (soft evidence); `predict` gives
    the one-step-ahead state distribution belief @ transmat. `log_likelihood`
    accumulates log P(o_1..o_t) (for hard labels; soft evidence gives the
    log of the virtual-evidence likelihood).
    """

    def __init__(self, params: HMMParams | None = None) -> None:
        self.params = params or DEFAULT_HMM
        self.reset()

    def reset(self) -> None:
        self.belief = self.params.startprob.copy()
        self.steps = 0
        self.log_likelihood = 0.0

    def likelihood(self, observation: str | Mapping[str, float] | np.ndarray) -> np.ndarray:
        """L(s) = sum_o q(o) B[s, o] for the observation's distribution q."""
        q = observation if isinstance(observation, np.ndarray) else evidence_vector(observation, self.params.labels)
        if q is None:
            raise ValueError("observation carries no evidence over the HMM labels")
        return self.params.emissionprob @ q

    def update(self, observation: str | Mapping[str, float] | np.ndarray | None) -> np.ndarray:
        """Incorporate one observation (None: no evidence, belief unchanged); returns the belief."""
        if observation is None:
            return self.belief
        if not isinstance(observation, np.ndarray):
            q = evidence_vector(observation, self.params.labels)
            if q is None:
                return self.belief
            observation = q
        lik = self.likelihood(observation)
        prior = self.params.startprob if self.steps == 0 else self.belief @ self.params.transmat
        joint = prior * lik
        total = float(joint.sum())
        if total <= 0 or not math.isfinite(total):
            # impossible evidence under the model: keep the prior rather than dividing by zero
            self.belief = prior / prior.sum()
        else:
            self.belief = joint / total
            self.log_likelihood += math.log(total)
        self.steps += 1
        return self.belief

    def predict(self) -> np.ndarray:
        """The state distribution one step ahead (the start distribution before any evidence)."""
        return self.params.startprob.copy() if self.steps == 0 else self.belief @ self.params.transmat

    def belief_dict(self, belief: np.ndarray | None = None) -> dict[str, float]:
        b = self.belief if belief is None else belief
        return {s: float(p) for s, p in zip(self.params.states, b)}

    def get_state(self) -> dict[str, Any]:
        return {"belief": self.belief.tolist(), "steps": self.steps, "log_likelihood": self.log_likelihood}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.belief = np.array(state["belief"], dtype=float)
        self.steps = int(state["steps"])
        self.log_likelihood = float(state.get("log_likelihood", 0.0))


# --------------------------------------------------------------------------------------
# Fitting with hmmlearn
# --------------------------------------------------------------------------------------


def _encode(sequences: Iterable[Sequence[Any]], labels: tuple[str, ...]) -> list[list[int]]:
    out = []
    for seq in sequences:
        codes = []
        for item in seq:
            if item is None:
                continue
            if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not 0 <= int(item) < len(labels):
                    raise ConfigError(f"label index {item} outside 0..{len(labels) - 1}.")
                codes.append(int(item))
                continue
            if isinstance(item, Mapping):
                q = evidence_vector(item, labels)
                if q is None:
                    continue
                codes.append(int(np.argmax(q)))
                continue
            q = evidence_vector(str(item), labels)
            if q is not None:
                codes.append(int(np.argmax(q)))
        if codes:
            out.append(codes)
    return out


def _align_states(emission: np.ndarray, reference: np.ndarray) -> list[int]:
    """For each reference state, the fitted state most like it (Hungarian on Bhattacharyya overlap)."""
    from scipy.optimize import linear_sum_assignment

    overlap = np.sqrt(reference[:, None, :] * emission[None, :, :]).sum(axis=2)
    rows, cols = linear_sum_assignment(-overlap)
    return [int(c) for _, c in sorted(zip(rows, cols))]


def fit_hmm(
    sequences: Iterable[Sequence[Any]],
    n_states: int = 4,
    seed: int = 0,
    labels: str | Iterable[str] | None = None,
    n_iter: int = 200,
    tol: float = 1e-4,
    smoothing: float = 0.1,
    init: str = "prior",
) -> HMMParams:
    """Fit a categorical HMM by Baum-Welch (hmmlearn `CategoricalHMM`) on label sequences.

    Args:
        sequences: one sequence per counterpart (per run and role); items are
            labels, label indices, or detector distributions (their argmax).
            Labels of another space are mapped; None items are skipped.
        n_states: number of hidden states. With 4 states and the default label
            space the fit starts from `DEFAULT_HMM` (``init="prior"``) and the
            fitted states keep its names (cooperative, distressed, hostile,
            deceptive), matched by emission overlap; otherwise ``state_<i>``.
        seed: seeds hmmlearn's random initialisation and the jitter of the prior.
        labels: the observation space (default Ekman-7).
        smoothing: Dirichlet pseudo-count added to every start, transition and
            emission count (MAP estimate), so unseen labels keep a small probability.
        init: "prior" (start from DEFAULT_HMM when the shapes match) or "random".

    Returns:
        The fitted `HMMParams`; `meta` records the data size, seed, iterations,
        convergence and final log-likelihood.
    """
    from hmmlearn.hmm import CategoricalHMM

    space = get_space(labels)
    data = _encode(sequences, space)
    n_samples = sum(len(s) for s in data)
    if n_samples < max(2, n_states):
        raise ConfigError(
            f"fitting an HMM with {n_states} states needs at least {max(2, n_states)} labelled "
            f"observations; got {n_samples} (run the study with an emotion detector)."
        )
    X = np.concatenate([np.array(s, dtype=int) for s in data]).reshape(-1, 1)
    lengths = [len(s) for s in data]
    alpha = 1.0 + float(smoothing)
    use_prior = init == "prior" and n_states == len(STATES) and space == DEFAULT_HMM.labels
    model = CategoricalHMM(
        n_components=n_states,
        n_features=len(space),
        startprob_prior=alpha,
        transmat_prior=alpha,
        emissionprob_prior=alpha,
        random_state=seed,
        n_iter=n_iter,
        tol=tol,
        init_params="" if use_prior else "ste",
        params="ste",
    )
    if use_prior:
        rng = np.random.default_rng(seed)

        def jitter(m: np.ndarray) -> np.ndarray:
            m = m * rng.uniform(0.9, 1.1, size=m.shape)
            return m / m.sum(axis=-1, keepdims=True)

        model.startprob_ = jitter(DEFAULT_HMM.startprob)
        model.transmat_ = jitter(DEFAULT_HMM.transmat)
        model.emissionprob_ = jitter(DEFAULT_HMM.emissionprob)
    model.fit(X, lengths)
    start, trans, emit = model.startprob_, model.transmat_, model.emissionprob_
    if n_states == len(STATES) and space == DEFAULT_HMM.labels:
        order = _align_states(emit, DEFAULT_HMM.emissionprob)
        start, trans, emit = start[order], trans[np.ix_(order, order)], emit[order]
        states = STATES
    else:
        states = tuple(f"state_{i}" for i in range(n_states))
    fix = lambda m: m / m.sum(axis=-1, keepdims=True)  # noqa: E731 - renormalise float drift
    return HMMParams(
        states=states,
        labels=space,
        startprob=fix(start),
        transmat=fix(trans),
        emissionprob=fix(emit),
        meta={
            "fitted_with": "hmmlearn.CategoricalHMM (Baum-Welch)",
            "n_sequences": len(lengths),
            "n_observations": int(n_samples),
            "seed": int(seed),
            "init": "prior" if use_prior else "random",
            "smoothing": float(smoothing),
            "n_iter": int(model.monitor_.iter),
            "converged": bool(model.monitor_.converged),
            "log_likelihood": float(model.score(X, lengths)),
        },
    )


def fit_hmm_from_turns(
    sequences: Iterable[Sequence[Any]],
    n_states: int = 4,
    seed: int = 0,
    labels: str | Iterable[str] | None = None,
    **kwargs: Any,
) -> HMMParams:
    """Fit from detected emotions of stored turns: one sequence per (run, counterpart role).

    Each item is what a turn logged as ``detected`` (a distribution; its argmax
    is the observed label) or a label string; None items (turns without a
    detection) are skipped. See `fit_hmm` for the keyword arguments.
    """
    return fit_hmm(sequences, n_states=n_states, seed=seed, labels=labels, **kwargs)


def label_sequences_from_turns(
    turns: Iterable[Mapping[str, Any]], field: str = "detected", fallback: str | None = "emotion"
) -> list[list[Any]]:
    """Per-(run, role) sequences of `field` from turn records (dicts with run_id, role, turn_index).

    Turns lacking `field` use `fallback` (the emotion the speaker was told to
    show) when given. The result feeds `fit_hmm_from_turns`.
    """
    groups: dict[tuple[Any, Any], list[tuple[int, Any]]] = {}
    for i, t in enumerate(turns):
        value = t.get(field)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        if value is None and fallback:
            value = t.get(fallback)
        key = (t.get("run_id"), t.get("role"))
        groups.setdefault(key, []).append((int(t.get("turn_index", i)), value))
    return [[v for _, v in sorted(items, key=lambda x: x[0])] for items in groups.values()]
