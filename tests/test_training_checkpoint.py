"""Every registered algorithm round-trips through a weights_only checkpoint and resumes exactly."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from roga_bench._registry import list_algorithms
from roga_bench.algorithms import get_algorithm_class
from roga_bench.hparams import make_hparams
from roga_bench.training._checkpoint import (
    atomic_save,
    get_rng_state,
    load_checkpoint,
    set_rng_state,
)

ALGORITHMS = [name for name in list_algorithms() if not name.startswith("_")]


def build(name: str) -> torch.nn.Module:
    hparams = make_hparams(name, "SynthFFLOMO", 0, 0, {"image_size": 16})
    torch.manual_seed(0)
    return get_algorithm_class(name)((3, 16, 16), 2, 2, hparams)


def batches(seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(4, 3, 16, 16, generator=g), torch.tensor([0, 1, 0, 1])) for _ in range(2)]


def test_registry_has_the_paper_algorithms() -> None:
    assert {"ERM", "SAM", "ASAM", "SAGM", "GSAM", "RoGA", "RoGA_Robust", "RoGA_Align"} <= set(
        ALGORITHMS
    )


@pytest.mark.parametrize("name", ALGORITHMS)
def test_checkpoint_round_trip_resumes_exactly(name: str, tmp_path: Path) -> None:
    original = build(name)
    original.update(batches(1))
    original.update(batches(2))
    torch.manual_seed(5)
    state = {
        "algorithm": original.state_dict(),
        "optimizer": original.optimizer.state_dict(),
        "rng": get_rng_state(),
    }
    atomic_save(state, tmp_path / "checkpoint.pt")
    expected = original.update(batches(3))

    loaded = load_checkpoint(tmp_path / "checkpoint.pt")  # weights_only=True inside
    resumed = build(name)
    resumed.load_state_dict(loaded["algorithm"])
    resumed.optimizer.load_state_dict(loaded["optimizer"])
    set_rng_state(loaded["rng"])
    assert resumed.update(batches(3)) == expected
    for a, b in zip(original.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_rng_state_round_trip(tmp_path: Path) -> None:
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    atomic_save({"rng": get_rng_state()}, tmp_path / "c.pt")
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left behind


def test_unreadable_checkpoint_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint.pt: cannot load checkpoint"):
        load_checkpoint(path)
