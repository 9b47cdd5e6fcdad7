"""A shared GPU node, faked (no GPU needed): slots on the launcher's own visible devices, cores from
the affinity mask and Slurm's allocation, CUDA RNG untouched by per-sample seeding, and a resume
that says when it is not exact.

Each test drives code that existed before these fixes (``_pool.pool``, ``launchers.local``,
``_devices.cores``, ``auto_num_workers``, ``InfiniteLoader``) so that it fails on the old code.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from roga_bench.datasets._transforms import build_transform
from roga_bench.sweep import _devices, _pool, launchers
from roga_bench.training import _speed
from roga_bench.training._loaders import InfiniteLoader

# ----- per-sample seeding: CPU numbers as before, CUDA generators untouched -------------------


class _Noise(Dataset):
    """Draws from torch's global CPU RNG, as an augmentation does."""

    def __len__(self) -> int:
        return 10

    def __getitem__(self, i: int):
        return torch.rand(4) + i, int(torch.randint(0, 2, ()))


class _Frames(Dataset):
    """Real training augmentation (flip, rotation, blur, colour, JPEG) on fixed random frames."""

    def __init__(self) -> None:
        r = np.random.RandomState(0)
        self.frames = [r.randint(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(6)]
        self.transform = build_transform(True)

    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int):
        return self.transform(self.frames[i]), i % 2


def _digest(loader, n: int) -> str:
    h = hashlib.sha256()
    for _ in range(n):
        x, y = next(loader)
        h.update(x.numpy().tobytes())
        h.update(y.numpy().tobytes())
    return h.hexdigest()


def test_per_sample_seeding_draws_the_batches_it_drew_before():
    """Hashes written from main at fcec41f (``torch.manual_seed`` per sample): the batches a
    running sweep's records were trained on."""
    torch.manual_seed(123)
    loader = InfiniteLoader(_Noise(), 3, seed=7)
    assert _digest(loader, 9) == "add59d7be9d873e22b275d4fd05ffb038934c416ef0adb2a87bd4e8f524b4f6f"
    assert torch.rand(1).item() == 0.29611194133758545  # the caller's own stream: untouched


class _OldSeeded(Dataset):
    """The former ``_SeededSamples``: ``torch.manual_seed`` inside ``fork_rng(devices=[])``."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.dataset[index]


def test_augmented_frames_are_bit_identical_to_the_former_seeding(monkeypatch):
    new = _digest(InfiniteLoader(_Frames(), 2, seed=11), 7)
    from roga_bench.training import _loaders

    monkeypatch.setattr(_loaders, "_SeededSamples", _OldSeeded)
    assert _digest(InfiniteLoader(_Frames(), 2, seed=11), 7) == new


def test_per_sample_seeding_never_touches_the_cuda_generators(monkeypatch):
    """With loading in the main process of a GPU run, ``torch.manual_seed`` per sample reseeded
    every CUDA generator (and ``fork_rng(devices=[])`` restores none): dropout and the checkpoint's
    CUDA state were the last sample's seed."""
    calls = []
    for name in ("manual_seed", "manual_seed_all", "seed", "seed_all", "set_rng_state"):
        monkeypatch.setattr(torch.cuda, name, lambda *a, _n=name, **k: calls.append(_n))
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", lambda *a, **k: calls.append("all"))
    loader = InfiniteLoader(_Noise(), 3, seed=7)
    for _ in range(4):
        next(loader)
    assert calls == []


# ----- slots on the launcher's own visible devices ---------------------------------------------


class _FakePool:
    started: list = []

    def __init__(self, slots, train_module):
        _FakePool.started = list(slots)

    def run(self, jobs, progress):
        return []


@pytest.mark.parametrize(
    "visible",
    [
        "2,3",
        "GPU-8a5e2f8c-1111-2222-3333-444455556666,GPU-0b1c2d3e-aaaa-bbbb-cccc-ddddeeeeffff",
        "MIG-GPU-8a5e2f8c-1111-2222-3333-444455556666/1/0,MIG-7d3e1a2b-0000-1111-2222-333344445555",
    ],
)
def test_pool_slots_use_the_launchers_visible_devices(monkeypatch, visible):
    """Under ``CUDA_VISIBLE_DEVICES=2,3`` the slots get 2 and 3, never 0 and 1 (someone else's
    GPUs on a shared node); UUIDs and MIG ids are passed on as given."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    monkeypatch.setattr(_devices, "n_gpus", lambda: 2)
    monkeypatch.setattr(_pool, "n_gpus", lambda: 2, raising=False)  # where older code looked
    monkeypatch.setattr(_pool, "cores", lambda: 8)
    monkeypatch.setattr(_pool, "_Pool", _FakePool)
    _pool.pool([object()] * 4, jobs_per_gpu=2)
    ids = visible.split(",")
    assert [s.env()["CUDA_VISIBLE_DEVICES"] for s in _FakePool.started] == [*ids, *ids]


def test_local_launcher_runs_on_the_first_visible_device(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    monkeypatch.setattr(_devices, "n_gpus", lambda: 2)
    monkeypatch.setattr(launchers, "n_gpus", lambda: 2)
    seen = []

    class Job:
        output_dir = Path("job")

        def describe(self) -> str:
            return "a job"

    def record(job, train_module=None, env=None, **kw):
        seen.append(env)
        return launchers.JobOutcome(job, "ok")

    monkeypatch.setattr(launchers, "run_and_record", record)
    launchers.local([Job()])
    assert seen == [{"CUDA_VISIBLE_DEVICES": "3"}]


def test_gpu_ids_follow_cuda_visible_devices():
    from roga_bench.sweep._devices import gpu_ids

    assert gpu_ids(2, {}) == ["0", "1"]  # unset: CUDA's own order
    assert gpu_ids(2, {"CUDA_VISIBLE_DEVICES": " 5, 7 "}) == ["5", "7"]
    assert gpu_ids(1, {"CUDA_VISIBLE_DEVICES": "5,bogus,7"}) == ["5"]  # CUDA stops at bogus
    assert gpu_ids(0, {"CUDA_VISIBLE_DEVICES": ""}) == []


# ----- cores: the affinity mask and Slurm's allocation -----------------------------------------


@pytest.fixture
def machine(monkeypatch):
    """A 16-core machine; the test sets the affinity mask and Slurm's variables."""
    for name in ("SLURM_CPUS_PER_TASK", "SLURM_CPUS_ON_NODE", _speed.SLOT_CORES_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    return monkeypatch


def test_taskset_to_one_core_means_one_core(machine):
    """``taskset -c 0``: one slot, not one per machine core."""
    machine.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert _devices.cores() == 1
    assert _pool.default_slots() == (1, 1)
    assert _speed.auto_num_workers(torch.device("cuda")) == 0


def test_a_slurm_task_starts_loader_workers_within_its_cpus(machine):
    """A submitit task of ``--slurm_cpus_per_job 4`` on a 16-core node: 3 loader workers (not 8),
    4 cores for a pool launched inside it."""
    machine.setenv("SLURM_CPUS_PER_TASK", "4")
    machine.setenv("SLURM_CPUS_ON_NODE", "8")
    assert _speed.auto_num_workers(torch.device("cuda")) == 3
    assert _devices.cores() == 4
    machine.delenv("SLURM_CPUS_PER_TASK")  # no --cpus-per-task: the job's cores on the node
    assert _devices.cores() == 8
    machine.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert _devices.cores() == 2  # the mask is narrower than the allocation


def test_malformed_slurm_values_are_ignored():
    from roga_bench._cores import available_cores

    affinity = len(os.sched_getaffinity(0))
    assert available_cores({"SLURM_CPUS_PER_TASK": "4(x2)"}) == affinity
    assert available_cores({"SLURM_CPUS_PER_TASK": "0"}) == affinity
    assert available_cores({"SLURM_CPUS_PER_TASK": "1"}) == 1


# ----- resume: exact on the CPU; a GPU run without `deterministic` says it is not --------------


def test_exact_resume_needs_the_cpu_or_deterministic():
    from roga_bench.training._loop import exact_resume

    assert exact_resume(torch.device("cpu"), False) and exact_resume(torch.device("cpu"), True)
    assert exact_resume(torch.device("cuda"), True)
    assert not exact_resume(torch.device("cuda"), False)


def _interrupted_then_resumed(tmp_path: Path) -> Path:
    from test_training_standins import ALGORITHM, DATASET, TinyERM

    from roga_bench.training import TrainConfig, train

    args = dict(dataset=DATASET, algorithm=ALGORITHM, test_envs=[1], device="cpu")
    config = TrainConfig.from_args({**args, "output_dir": str(tmp_path / "run")})
    TinyERM.crash_at_call = 6  # step 5: after the step-3 checkpoint
    try:
        with pytest.raises(RuntimeError, match="simulated crash"):
            train(config)
    finally:
        TinyERM.crash_at_call = None
    return train(config)


def test_a_resume_on_the_cpu_records_nothing(tmp_path):
    from roga_bench.training import read_records

    out = _interrupted_then_resumed(tmp_path)
    records = read_records(out / "results.jsonl")
    assert [r["step"] for r in records] == [0, 3, 6]
    assert not any("nondeterministic_resumes" in r for r in records)
    assert "without hparam deterministic" not in (out / "err.txt").read_text()


def test_a_resume_that_is_not_exact_warns_and_is_recorded(tmp_path, monkeypatch):
    """What a requeued GPU job without ``deterministic`` does (the device check is faked)."""
    from roga_bench.training import _loop, read_records

    monkeypatch.setattr(_loop, "exact_resume", lambda device, deterministic: False)
    out = _interrupted_then_resumed(tmp_path)
    records = read_records(out / "results.jsonl")
    assert [r.get("nondeterministic_resumes") for r in records] == [None, None, [3]]
    assert "resuming on cpu without hparam deterministic" in (out / "err.txt").read_text()
    assert (out / "done").exists()
