"""The paired design: within one trial every algorithm starts from the same weights and sees the
same batches with the same augmentation draws (``--seed_policy paired``, the default); DomainBed's
per-algorithm seeding (``domainbed``) does not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from roga_bench.sweep import make_args_list
from roga_bench.training import TrainConfig
from roga_bench.training._loop import _checked_dataset, _Run, _seed_everything
from roga_bench.training._plan import make_plan

ALGORITHMS = ["ERM", "RoGA", "SAM"]
# augmentation on, so the test also covers the augmentation draws
HPARAMS = '{"data_augmentation": true}'


def _runs(tmp_path: Path, data_dir: Path, policy: str) -> dict[str, _Run]:
    """The live runs of trial 0, test env 0, one per algorithm, as ``train`` builds them."""
    args_list = make_args_list(
        1, ["SynthFFLOMO"], ALGORITHMS, 0, 1, 2, str(data_dir), "domain_generalization", 0.2,
        hparams=HPARAMS, test_envs=[0], seed_policy=policy,
    )  # fmt: skip
    runs = {}
    for args in args_list:
        out = tmp_path / policy / args["algorithm"]
        config = TrainConfig.from_args({**args, "output_dir": str(out), "device": "cpu"})
        plan = make_plan(config)
        dataset = _checked_dataset(config, plan)  # as train: the dataset first, then the seeds
        _seed_everything(config.seed)
        runs[args["algorithm"]] = _Run(config, plan, None, dataset)
    return runs


def _weights(run: _Run) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in run.algorithm.network.state_dict().items()}


def _batches(run: _Run, n: int, noise: int) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """``n`` steps of one minibatch per training env; between steps the global RNG is drawn
    ``noise`` times, as an algorithm's own randomness (dropout, perturbations) would."""
    steps = []
    for _ in range(n):
        steps.append([next(loader) for loader in run.loaders])
        torch.rand(noise)
    return steps


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _same_batches(a: list, b: list) -> bool:
    return all(
        torch.equal(xa, xb) and torch.equal(ya, yb)
        for step_a, step_b in zip(a, b, strict=True)
        for (xa, ya), (xb, yb) in zip(step_a, step_b, strict=True)
    )


def test_paired_args_leave_the_algorithm_out_of_the_seed() -> None:
    args = make_args_list(1, ["SynthFFLOMO"], ALGORITHMS, 0, 1, None, None, "dg", 0.2, True)
    trial0_env0 = [a for a in args if a["test_envs"] == [0]]
    assert {a["seed_policy"] for a in args} == {"paired"}
    assert len({a["seed"] for a in trial0_env0}) == 1
    seed_str = str(("SynthFFLOMO", [0], 0, 0))
    assert trial0_env0[0]["seed"] == int(hashlib.md5(seed_str.encode()).hexdigest(), 16) % 2**31
    # another held-out env is another pair: another seed
    erm = [a for a in args if a["algorithm"] == "ERM"]
    assert len({a["seed"] for a in erm}) == len(erm) > 1


def test_unknown_seed_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="--seed_policy 'x'"):
        make_args_list(1, ["SynthFFLOMO"], ["ERM"], 0, 1, None, None, "dg", 0.2, seed_policy="x")


def test_paired_runs_share_initial_weights_and_batches(tmp_path: Path, tiny_synthff: Path) -> None:
    runs = _runs(tmp_path, tiny_synthff, "paired")
    assert {r.config.seed_policy for r in runs.values()} == {"paired"}
    weights = {name: _weights(run) for name, run in runs.items()}
    # each algorithm draws the global RNG differently between steps: batches must not care
    batches = {name: _batches(run, 3, 5 + 7 * i) for i, (name, run) in enumerate(runs.items())}
    for name in ALGORITHMS[1:]:
        assert _same_weights(weights["ERM"], weights[name]), name
        assert _same_batches(batches["ERM"], batches[name]), name


def test_domainbed_policy_gives_each_algorithm_its_own_seed(
    tmp_path: Path, tiny_synthff: Path
) -> None:
    runs = _runs(tmp_path, tiny_synthff, "domainbed")
    assert {r.config.seed_policy for r in runs.values()} == {None}
    assert len({r.config.seed for r in runs.values()}) == len(ALGORITHMS)
    erm, roga = _weights(runs["ERM"]), _weights(runs["RoGA"])
    assert not _same_weights(erm, roga)
    assert not _same_batches(_batches(runs["ERM"], 1, 0), _batches(runs["RoGA"], 1, 0))
