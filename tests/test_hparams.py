"""DomainBed hparam semantics (DESIGN §3) and the spaces the algorithms declare (DESIGN §4)."""

from __future__ import annotations

import hashlib

import pytest

from roga_bench._registry import ALGORITHMS, DATASETS
from roga_bench.algorithms import RoGA
from roga_bench.hparams import (
    HParam,
    default_hparams,
    hparam_space,
    make_hparams,
    random_hparams,
    seed_hash,
)

RHOS = {0.01, 0.02, 0.05, 0.1, 0.2}
ALPHAS = {0.0002, 0.0005, 0.001, 0.002, 0.005}
GSAM_ALPHAS = {0.01, 0.05, 0.1, 0.2, 0.4}
DS = "TinyDS"


class TinyDS:
    """A dataset class with only what the hparam functions read."""

    HPARAMS = {"backbone": HParam("small_cnn"), "image_size": HParam(32, minimum=8)}


class RoGA_Extra(RoGA):  # noqa: N801
    HPARAMS = {"zzz_new": HParam(1.0, lambda r: float(r.uniform(0, 1)))}


@pytest.fixture(autouse=True)
def _tiny_registrations(monkeypatch):
    """Register the test-only classes for one test, then remove them again."""
    DATASETS.names()  # load the real datasets first, so ours is added on top
    monkeypatch.setitem(DATASETS._entries, DS, TinyDS)
    monkeypatch.setitem(ALGORITHMS._entries, "RoGA_Extra", RoGA_Extra)


PAPER_DEFAULTS = {
    "ERM": {},
    "SAM": {"rho": 0.05},
    "ASAM": {"rho": 0.5},
    "SAGM": {"rho": 0.05, "alpha": 0.001},
    "GSAM": {"rho": 0.05, "alpha": 0.1},
    "RoGA": {"rho": 0.1, "alpha": 0.001, "roga_align_to": "domain", "roga_batched": False},
    "RoGA_Robust": {"rho": 0.1, "alpha": 0.0},
    "RoGA_Align": {"rho": 0.0, "alpha": 0.001},
}


@pytest.mark.parametrize(("name", "expected"), PAPER_DEFAULTS.items())
def test_hparams_seed_zero_gives_the_paper_defaults(name, expected):
    hp = make_hparams(name, DS, hparams_seed=0, trial_seed=5)
    assert hp == default_hparams(name, DS)
    assert {k: hp[k] for k in expected} == expected
    assert (hp["optimizer"], hp["lr"], hp["momentum"]) == ("sgd", 0.005, 0.9)
    assert hp["backbone"] == "small_cnn" and hp["image_size"] == 32  # dataset beats shared
    if name == "ERM":
        assert "rho" not in hp and "alpha" not in hp


def test_random_hparams_are_deterministic_and_inside_the_spaces():
    draws = [random_hparams("RoGA", DS, seed) for seed in range(40)]
    assert draws[3] == random_hparams("RoGA", DS, 3)
    assert {d["rho"] for d in draws} == RHOS  # every choice shows up in 40 draws
    assert {d["alpha"] for d in draws} <= ALPHAS and len({d["alpha"] for d in draws}) > 2
    assert all(d["roga_align_to"] == "domain" and d["roga_batched"] is False for d in draws)
    assert {random_hparams("GSAM", DS, s)["alpha"] for s in range(40)} <= GSAM_ALPHAS
    assert {random_hparams("RoGA_Robust", DS, s)["alpha"] for s in range(10)} == {0.0}
    assert {random_hparams("RoGA_Align", DS, s)["rho"] for s in range(10)} == {0.0}
    lrs = [d["lr"] for d in draws]
    assert all(1e-3 <= lr <= 1e-2 for lr in lrs) and len(set(lrs)) == len(lrs)


def test_each_hparam_has_its_own_seed():
    """Adding an hparam to a space never shifts the values drawn for the others."""
    for seed in (1, 2, 99):
        base = random_hparams("RoGA", DS, seed)
        extra = random_hparams("RoGA_Extra", DS, seed)
        assert set(extra) - set(base) == {"zzz_new"}
        assert {k: extra[k] for k in base} == base
    # and the same name draws the same value in any algorithm that has it
    assert random_hparams("SAM", DS, 7)["lr"] == random_hparams("RoGA", DS, 7)["lr"]


def test_nonzero_hparams_seed_uses_seed_hash_of_hparams_and_trial_seed():
    expected = int(hashlib.md5(str((3, 1)).encode()).hexdigest(), 16) % 2**31
    assert seed_hash(3, 1) == expected
    assert make_hparams("SAGM", DS, 3, 1) == random_hparams("SAGM", DS, expected)
    assert make_hparams("SAGM", DS, 3, 1) != make_hparams("SAGM", DS, 3, 2)


@pytest.mark.parametrize("overrides", ['{"rho": 0.2, "lr": 0.01}', {"rho": 0.2, "lr": 0.01}])
def test_overrides_are_applied_last(overrides):
    hp = make_hparams("RoGA", DS, hparams_seed=4, trial_seed=0, overrides=overrides)
    assert hp["rho"] == 0.2 and hp["lr"] == 0.01
    assert hp["alpha"] == random_hparams("RoGA", DS, seed_hash(4, 0))["alpha"]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ('{"rho": 0.1', "not valid JSON"),
        ("[0.1]", "JSON object"),
        ('{"rhoo": 0.1}', "'rhoo'.*valid hparams:.*rho"),
        ('{"rho": -0.1}', "'rho'"),
        ('{"alpha": -0.001}', "'alpha'"),
        ('{"lr": -1}', "'lr'"),
        ('{"roga_align_to": "local"}', "'roga_align_to'"),
        ('{"optimizer": "rmsprop"}', "'optimizer'"),
    ],
)
def test_bad_overrides_raise_valueerror_naming_the_problem(overrides, match):
    with pytest.raises(ValueError, match=match):
        make_hparams("RoGA", DS, 0, 0, overrides)


def test_algorithm_space_sits_next_to_the_class():
    space = hparam_space("GSAM", DS)
    assert space["alpha"].default == 0.1 and space["rho"].minimum == 0.0
    with pytest.raises(KeyError, match="RoGA"):
        hparam_space("RoGAA", DS)
