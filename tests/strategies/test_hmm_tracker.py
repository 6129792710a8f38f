"""HMM tracking: our forward filter against hmmlearn, fitting, parameter files."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hmmlearn.hmm import CategoricalHMM

from simlab.emotion.labels import EKMAN7
from simlab.errors import ConfigError
from simlab.strategies.hmm_tracker import (
    DEFAULT_HMM,
    STATES,
    ForwardFilter,
    HMMParams,
    fit_hmm,
    fit_hmm_from_turns,
    label_sequences_from_turns,
    load_params,
    save_params,
)


def random_params(rng: np.random.Generator, n_states: int = 4, n_labels: int = 7) -> HMMParams:
    return HMMParams(
        states=tuple(f"s{i}" for i in range(n_states)),
        labels=EKMAN7[:n_labels],
        startprob=rng.dirichlet(np.ones(n_states)),
        transmat=rng.dirichlet(np.ones(n_states), size=n_states),
        emissionprob=rng.dirichlet(np.ones(n_labels), size=n_states),
    )


def hmmlearn_model(p: HMMParams) -> CategoricalHMM:
    m = CategoricalHMM(n_components=len(p.states), n_features=len(p.labels))
    m.startprob_, m.transmat_, m.emissionprob_ = p.startprob, p.transmat, p.emissionprob
    return m


def sample(p: HMMParams, rng: np.random.Generator, length: int) -> list[str]:
    s = rng.choice(len(p.states), p=p.startprob)
    out = []
    for _ in range(length):
        out.append(p.labels[rng.choice(len(p.labels), p=p.emissionprob[s])])
        s = rng.choice(len(p.states), p=p.transmat[s])
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_filter_matches_hmmlearn_posterior_of_the_last_step(seed):
    rng = np.random.default_rng(seed)
    params = random_params(rng)
    model = hmmlearn_model(params)
    seq = sample(params, rng, 25)
    X = np.array([params.labels.index(x) for x in seq]).reshape(-1, 1)
    f = ForwardFilter(params)
    for t, label in enumerate(seq):
        f.update(label)
        # predict_proba is smoothed; at the last step of the prefix, smoothing == filtering
        expected = model.predict_proba(X[: t + 1])[-1]
        np.testing.assert_allclose(f.belief, expected, rtol=0, atol=1e-9)
    assert f.log_likelihood == pytest.approx(model.score(X), abs=1e-9)


def test_soft_evidence_generalises_labels():
    f1, f2 = ForwardFilter(), ForwardFilter()
    for label in ["anger", "disgust", "neutral"]:
        f1.update(label)
        f2.update({x: float(x == label) for x in EKMAN7})
    np.testing.assert_allclose(f1.belief, f2.belief, atol=1e-15)
    flat = ForwardFilter()
    flat.update({x: 1 / 7 for x in EKMAN7})
    sharp = ForwardFilter()
    sharp.update("anger")
    # a flat detection barely moves the prior; a confident anger detection points to hostile
    assert np.abs(flat.belief - DEFAULT_HMM.startprob).max() < 0.05
    assert STATES[int(np.argmax(sharp.belief))] == "hostile"
    # a label from another space is mapped; None is no evidence
    g = ForwardFilter()
    g.update("annoyance")  # GoEmotions -> anger
    np.testing.assert_allclose(g.belief, sharp.belief)
    before = g.belief.copy()
    g.update(None)
    np.testing.assert_array_equal(g.belief, before)


def test_filter_state_round_trip():
    f = ForwardFilter()
    for label in ["sadness", "fear"]:
        f.update(label)
    g = ForwardFilter()
    g.set_state(json.loads(json.dumps(f.get_state())))
    f.update("anger")
    g.update("anger")
    np.testing.assert_array_equal(f.belief, g.belief)


def test_fit_recovers_named_states_and_round_trips_json(tmp_path):
    rng = np.random.default_rng(7)
    seqs = [sample(DEFAULT_HMM, rng, 15) for _ in range(30)]
    fitted = fit_hmm(seqs, n_states=4, seed=0, n_iter=60)
    assert fitted.states == STATES and fitted.labels == EKMAN7
    # the named states keep their characteristic emissions
    emit = {s: dict(zip(EKMAN7, row)) for s, row in zip(fitted.states, fitted.emissionprob)}
    assert emit["hostile"]["anger"] > emit["cooperative"]["anger"]
    assert emit["distressed"]["sadness"] > emit["hostile"]["sadness"]
    assert fitted.meta["n_sequences"] == 30 and fitted.meta["n_observations"] == 450
    path = save_params(fitted, tmp_path / "hmm.json")
    loaded = load_params(path)
    for name in ("startprob", "transmat", "emissionprob"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(fitted, name))
    assert loaded.states == fitted.states and loaded.meta == fitted.meta
    # deterministic given the seed
    again = fit_hmm(seqs, n_states=4, seed=0, n_iter=60)
    np.testing.assert_array_equal(again.emissionprob, fitted.emissionprob)


def test_fit_from_turns_accepts_detections_and_skips_missing():
    rng = np.random.default_rng(3)
    seqs = []
    for _ in range(10):
        labels = sample(DEFAULT_HMM, rng, 8)
        seqs.append([{x: 0.9 if x == y else 0.1 / 6 for x in EKMAN7} for y in labels] + [None])
    params = fit_hmm_from_turns(seqs, n_states=3, seed=1, n_iter=20)
    assert params.states == ("state_0", "state_1", "state_2")
    assert params.meta["n_observations"] == 80
    with pytest.raises(ConfigError, match="needs at least"):
        fit_hmm_from_turns([[None, None], ["joy"]], n_states=4)


def test_label_sequences_from_turns_groups_by_run_and_role():
    turns = [
        {"run_id": "r1", "role": "debtor", "turn_index": 3, "detected": json.dumps({"anger": 1.0})},
        {"run_id": "r1", "role": "debtor", "turn_index": 1, "detected": {"joy": 1.0}},
        {"run_id": "r1", "role": "creditor", "turn_index": 0, "detected": None, "emotion": "neutral"},
        {"run_id": "r2", "role": "debtor", "turn_index": 1, "detected": {"sadness": 1.0}},
    ]
    seqs = label_sequences_from_turns(turns)
    assert [{"joy": 1.0}, {"anger": 1.0}] in seqs and ["neutral"] in seqs and [{"sadness": 1.0}] in seqs


def test_invalid_parameters_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="shape"):
        HMMParams(STATES, EKMAN7, np.ones(3) / 3, DEFAULT_HMM.transmat, DEFAULT_HMM.emissionprob)
    with pytest.raises(ConfigError, match="sum to 1"):
        HMMParams(STATES, EKMAN7, np.ones(4), DEFAULT_HMM.transmat, DEFAULT_HMM.emissionprob)
    with pytest.raises(ConfigError, match="fit one"):
        load_params(tmp_path / "nope.json")
