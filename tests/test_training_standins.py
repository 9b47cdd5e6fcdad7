"""Test-only dataset and algorithms for the training tests, registered under names starting "_Test".

Small and fast: 3 environments of 8x8 random images whose mean depends on the label, and a
linear model with dropout (so a resume must restore the torch RNG to reproduce a run). Importing
this module registers them; a subprocess can do the same before calling ``roga_bench.train.main``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.data import TensorDataset

from roga_bench._registry import ALGORITHMS, DATASETS
from roga_bench.hparams import HParam

DATASET = "_TestTinyTrainDataset"
ALGORITHM = "_TestTinyERM"
NAN_ALGORITHM = "_TestNaNLoss"

# A subprocess that imports this module and runs the CLI with its argv.
CLI_SNIPPET = (
    "import sys, test_training_standins; from roga_bench.train import main; "
    "sys.exit(main(sys.argv[1:]))"
)


class TinyTrainDataset:
    """3 environments x (train 24, val 12, test 12) samples of 3x8x8; 2 frames per video."""

    ENVIRONMENTS = ["A", "B", "C"]
    N_STEPS = 7
    CHECKPOINT_FREQ = 3
    HPARAMS = {"batch_size": HParam(4, minimum=1)}
    SIZES = {"train": 24, "val": 12, "test": 12}

    def __init__(self, data_dir, test_envs, hparams) -> None:
        self.input_shape = (3, 8, 8)
        self.num_classes = 2
        self.test_envs = list(test_envs)

    def __len__(self) -> int:
        return len(self.ENVIRONMENTS)

    def split(self, i: int, name: str) -> TensorDataset:
        n = self.SIZES[name]
        g = torch.Generator().manual_seed(100 * i + len(name))
        y = torch.arange(n) % 2
        x = torch.randn(n, 3, 8, 8, generator=g) + (y.float() * 0.8 + 0.1 * i).view(-1, 1, 1, 1)
        return TensorDataset(x, y)

    def video_ids(self, i: int, name: str) -> list[str]:
        labels = ["real", "fake"]
        return [f"{labels[k % 2]}/v{k // 4}" for k in range(self.SIZES[name])]

    def __getitem__(self, i: int) -> TensorDataset:
        return self.split(i, "test" if i in self.test_envs else "train")


class TinyERM(nn.Module):
    """DomainBed-shaped ERM over a linear model with dropout."""

    HPARAMS: dict[str, HParam] = {}
    crash_at_call: int | None = None  # tests set it to simulate a crash (1-based update call)

    def __init__(self, input_shape, num_classes, num_domains, hparams) -> None:
        super().__init__()
        self.network = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(math.prod(input_shape), num_classes)
        )
        self.optimizer = torch.optim.SGD(
            self.network.parameters(), lr=hparams["lr"], momentum=hparams["momentum"]
        )

    def update(self, minibatches, unlabeled=None) -> dict[str, float]:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == self.crash_at_call:
            raise RuntimeError(f"simulated crash at update call {self.calls}")
        x = torch.cat([x for x, _ in minibatches])
        y = torch.cat([y for _, y in minibatches])
        loss = nn.functional.cross_entropy(self.network(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item(), "n": float(len(y))}

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)


class NaNLoss(TinyERM):
    """Reports a NaN loss from step 2 on (as a diverged run would)."""

    def update(self, minibatches, unlabeled=None) -> dict[str, float]:
        values = super().update(minibatches)
        return {**values, "loss": float("nan") if self.calls >= 2 else values["loss"]}


for _name, _obj, _registry in (
    (DATASET, TinyTrainDataset, DATASETS),
    (ALGORITHM, TinyERM, ALGORITHMS),
    (NAN_ALGORITHM, NaNLoss, ALGORITHMS),
):
    if _name not in _registry:
        _registry.register(_name)(_obj)


def test_standin_dataset_is_deterministic() -> None:
    """Same data from any instance whatever the global RNG state; every split its own data."""
    torch.manual_seed(1)
    a = TinyTrainDataset(None, [0], {})
    first = a.split(1, "train").tensors
    torch.manual_seed(2)
    torch.rand(7)  # a different global RNG state: the split must not draw from it
    b = TinyTrainDataset(None, [2], {})
    again = b.split(1, "train").tensors
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    samples = {(i, name): a.split(i, name).tensors[0][:12] for i in range(3) for name in a.SIZES}
    keys = sorted(samples)
    assert all(
        not torch.equal(samples[p], samples[q]) for p in keys for q in keys if p < q
    )  # no two (env, split) pairs share their images
    assert torch.equal(a[0].tensors[0], a.split(0, "test").tensors[0])  # test env: test split
    assert torch.equal(a[1].tensors[0], a.split(1, "train").tensors[0])
    for name, n in a.SIZES.items():
        ids, (_, y) = a.video_ids(0, name), a.split(0, name).tensors
        assert len(ids) == len(y) == n
        # the video id carries the label: every frame of a video has the video's label
        assert all(
            vid.startswith("fake/" if label else "real/") for vid, label in zip(ids, y, strict=True)
        )
