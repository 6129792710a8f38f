"""Label spaces, VAD coordinates and mappings between spaces."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.emotion import vad
from simlab.emotion.labels import (
    ALL_LABELS,
    DEFAULT_SPACE,
    EKMAN7,
    GOEMOTIONS28,
    PLUTCHIK8,
    SPACES,
    get_space,
    infer_space,
)
from simlab.emotion.mapping import GOEMOTIONS_TO_EKMAN, map_distribution, map_label, mapping_matrix
from simlab.errors import ConfigError


def test_spaces_have_the_published_sizes_and_default():
    assert EKMAN7 == ("neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust")
    assert DEFAULT_SPACE is EKMAN7
    assert len(PLUTCHIK8) == 8 and "neutral" not in PLUTCHIK8
    assert len(GOEMOTIONS28) == 28 and len(set(GOEMOTIONS28)) == 28 and GOEMOTIONS28[-1] == "neutral"
    assert get_space("ekman7") == EKMAN7 and get_space("Plutchik-8") == PLUTCHIK8
    assert get_space(None) == EKMAN7 and get_space(["joy", "anger"]) == ("joy", "anger")


def test_unknown_space_or_label_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown emotion space"):
        get_space("wundt3")
    with pytest.raises(ConfigError, match="without VAD"):
        get_space(["joy", "schadenfreude"])


def test_every_label_has_vad_in_the_unit_cube():
    for label in ALL_LABELS:
        point = vad.vad(label)
        assert point.shape == (3,) and np.all((0 <= point) & (point <= 1)), label
        assert np.allclose(vad.centered(label), 2 * point - 1)
    # known NRC-VAD values (Mohammad 2018)
    assert tuple(vad.VAD["anger"]) == (0.167, 0.865, 0.657)
    assert tuple(vad.VAD["sadness"]) == (0.052, 0.288, 0.164)
    # qualitative sanity: joy is pleasant, sadness calm and submissive, fear aroused
    assert vad.VAD["joy"][0] > 0.9 > 0.1 > vad.VAD["sadness"][0]
    assert vad.VAD["fear"][1] > vad.VAD["neutral"][1]
    assert vad.nearest(vad.vad("amusement"), EKMAN7) == "joy"
    assert vad.nearest(vad.vad("nervousness"), EKMAN7) == "fear"


@pytest.mark.parametrize("src,dst", [(EKMAN7, GOEMOTIONS28), (PLUTCHIK8, GOEMOTIONS28)])
def test_round_trip_through_a_finer_space_is_the_identity(src, dst):
    for label in src:
        assert map_label(map_label(label, dst, src), src, dst) == label


def test_round_trip_ekman_plutchik_keeps_the_six_shared_emotions():
    for label in EKMAN7:
        if label != "neutral":
            assert map_label(map_label(label, PLUTCHIK8, EKMAN7), EKMAN7, PLUTCHIK8) == label


def test_goemotions_to_ekman_follows_the_published_table():
    for label in GOEMOTIONS28:
        assert map_label(label, EKMAN7, GOEMOTIONS28) == GOEMOTIONS_TO_EKMAN[label]
    assert map_label("annoyance", EKMAN7) == "anger"
    assert map_label("nervousness", EKMAN7) == "fear"
    assert map_label("admiration", PLUTCHIK8) == "trust"  # Plutchik's wheel: intense trust
    assert map_label("trust", EKMAN7) == "joy"  # VAD nearest


@pytest.mark.parametrize("src", list(SPACES.values()))
@pytest.mark.parametrize("dst", list(SPACES.values()))
@pytest.mark.parametrize("soft", [False, True])
def test_mapping_matrices_are_row_stochastic(src, dst, soft):
    m = mapping_matrix(src, dst, soft=soft)
    assert m.shape == (len(src), len(dst))
    assert np.all(m >= 0) and np.allclose(m.sum(axis=1), 1.0)
    if set(src) <= set(dst):
        for i, label in enumerate(src):
            assert m[i, dst.index(label)] == 1.0


def test_map_distribution_preserves_mass_and_splits_between_targets():
    out = map_distribution({"anticipation": 1.0}, "ekman7")
    assert set(out) == set(EKMAN7) and abs(sum(out.values()) - 1) < 1e-12
    # anticipation lies almost exactly between joy and surprise in VAD space
    assert out["joy"] > 0.3 and out["surprise"] > 0.3
    neutral = map_distribution({"neutral": 1.0}, PLUTCHIK8)
    assert np.allclose(list(neutral.values()), 1 / 8)  # no evidence for any Plutchik category
    assert map_distribution({}, EKMAN7) == {x: 1 / 7 for x in EKMAN7}
    assert infer_space({"trust": 0.5, "joy": 0.5}) == PLUTCHIK8
