"""Slot/device planning of the launchers with a faked GPU count (no GPU needed)."""

from __future__ import annotations

import pytest

from roga_bench.sweep import _devices, _pool
from roga_bench.sweep._devices import SLOT_CORES_ENV, plan_slots


def test_no_gpu_keeps_one_single_threaded_slot_per_core():
    slots = plan_slots(gpus=0, cores=16)
    assert len(slots) == 16 and {s.threads for s in slots} == {1}
    assert all(s.gpu is None and "CUDA_VISIBLE_DEVICES" not in s.env() for s in slots)
    assert [s.threads for s in plan_slots(0, 16, n_workers=4)] == [4] * 4


def test_gpus_times_jobs_per_gpu_slots_each_pinned_to_one_gpu():
    slots = plan_slots(gpus=4, cores=16, jobs_per_gpu=2)
    assert len(slots) == 8
    assert [s.env()["CUDA_VISIBLE_DEVICES"] for s in slots] == [str(k % 4) for k in range(8)]
    assert {s.threads for s in slots} == {2}  # 16 cores / 8 slots
    assert slots[0].env()[SLOT_CORES_ENV] == slots[0].env()["OMP_NUM_THREADS"] == "2"


def test_device_cpu_ignores_gpus_and_cuda_requires_them():
    assert all(s.gpu is None for s in plan_slots(gpus=2, cores=4, device="cpu"))
    with pytest.raises(ValueError, match="no CUDA device"):
        plan_slots(gpus=0, cores=4, device="cuda")
    with pytest.raises(ValueError, match="jobs_per_gpu must be >= 1"):
        plan_slots(gpus=1, cores=4, jobs_per_gpu=0)
    with pytest.raises(ValueError, match="--device 'tpu'"):
        plan_slots(gpus=1, cores=4, device="tpu")


def test_pool_pins_each_worker_before_cuda(monkeypatch):
    """pool with a faked count of 2 GPUs x 2 jobs: four spawned workers, GPU k % 2 each
    (``tests/test_shared_node.py``: the launcher's own CUDA_VISIBLE_DEVICES entries)."""
    started = []

    class FakePool:
        def __init__(self, slots, train_module):
            started.extend(slots)

        def run(self, jobs, progress):
            return []

    monkeypatch.setattr(_devices, "n_gpus", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(_pool, "cores", lambda: 8)
    monkeypatch.setattr(_pool, "_Pool", FakePool)
    _pool.pool([object()] * 5, jobs_per_gpu=2)
    assert [s.gpu for s in started] == ["0", "1", "0", "1"] and {s.threads for s in started} == {2}
    started.clear()
    _pool.pool([object()] * 5, device="cpu")
    assert len(started) == 5 and {s.gpu for s in started} == {None}  # 8 cores, 5 jobs


def test_worker_sets_its_slot_env_first(monkeypatch):
    """The worker applies its slot's environment before it imports anything that uses CUDA."""
    seen = {}

    def stop(parent):
        seen.update({k: _pool.os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", SLOT_CORES_ENV)})
        raise SystemExit

    monkeypatch.setattr(_pool, "_die_with_parent", stop)
    monkeypatch.setattr(_pool.os, "environ", dict(_pool.os.environ))
    slot = plan_slots(gpus=3, cores=6, jobs_per_gpu=1)[2]
    with pytest.raises(SystemExit):
        _pool._worker(None, 0, slot, None)
    assert seen == {"CUDA_VISIBLE_DEVICES": "2", SLOT_CORES_ENV: "2"}
