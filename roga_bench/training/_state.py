"""Per-checkpoint bookkeeping: update-metric means, peak memory, the model.pkl payload."""

from __future__ import annotations

import resource
import sys
from typing import Any

import torch

from roga_bench.training._config import TrainConfig

__all__ = ["Accumulator", "memory_gb", "model_payload", "reset_peak_memory"]

_STATUS = "/proc/self/status"


class Accumulator:
    """Sums of every key ``update`` returned (and ``step_time``) since the last checkpoint."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: dict[str, float], step_time: float) -> None:
        for key, value in {**values, "step_time": step_time}.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> dict[str, float]:
        return {key: self.sums[key] / self.counts[key] for key in self.sums}

    def reset(self) -> None:
        self.sums, self.counts = {}, {}

    def state_dict(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak: CUDA's peak statistics, and on Linux the process's peak RSS (VmHWM, reset
    by writing 5 to ``/proc/self/clear_refs``), so a warm worker's next job reports its own."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not Linux: the lifetime peak (ru_maxrss) it is
        pass


def _vm_hwm_kib() -> int | None:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def memory_gb(device: torch.device) -> float:
    """Peak memory in GiB since :func:`reset_peak_memory`: CUDA ``max_memory_allocated`` on a
    GPU, else the process's peak RSS (VmHWM on Linux, else ``ru_maxrss``, the lifetime peak)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    hwm = _vm_hwm_kib()
    if hwm is not None:
        return hwm / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    return peak / 2**30 if sys.platform == "darwin" else peak / 2**20


def model_payload(
    config: TrainConfig, dataset: Any, algorithm: Any, n_domains: int, hparams: dict[str, Any]
) -> dict[str, Any]:
    """DomainBed's model.pkl fields, plain types and CPU tensors only (weights_only loadable)."""
    return {
        "args": config.to_args(),
        "model_input_shape": tuple(int(s) for s in dataset.input_shape),
        "model_num_classes": int(dataset.num_classes),
        "model_num_domains": n_domains,
        "model_hparams": dict(hparams),
        "model_dict": {k: v.detach().cpu() for k, v in algorithm.state_dict().items()},
    }
