"""The fast path of a run on an accelerator, resolved per device so the CPU path stays bit-exact.

hparams ``deterministic`` and ``channels_last`` are ``auto`` by default:

* CPU: deterministic (cudnn flags as before, no TF32), no channels_last, DataLoader workers 0
  (the main-process augmentation stream, bit-exact with earlier results and resumes);
* CUDA: ``cudnn.benchmark`` and TF32 on, channels_last for networks with 2-d convolutions,
  pinned memory and ``non_blocking`` copies, DataLoader workers from the slot's cores (the
  launcher's ``ROGA_BENCH_SLOT_CORES``, else the cores this process may use: its affinity mask
  capped by Slurm's ``SLURM_CPUS_PER_TASK``), each sample augmented from its own seed so results
  do not depend on the number of workers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from roga_bench._cores import available_cores

__all__ = ["SLOT_CORES_ENV", "Speed", "auto_num_workers", "configure_backends", "resolve_speed"]

SLOT_CORES_ENV = "ROGA_BENCH_SLOT_CORES"  # set by the launchers (roga_bench.sweep._devices)
MAX_AUTO_WORKERS = 8


@dataclass(frozen=True)
class Speed:
    """What the speed switches resolve to on one device."""

    deterministic: bool
    channels_last: bool
    num_workers: int
    pin_memory: bool
    # each training sample augmented from its own seed (any num_workers gives the same batches)
    sample_seeds: bool


def auto_num_workers(device: torch.device, cores: int | None = None) -> int:
    """DataLoader workers for ``num_workers`` auto: 0 on the CPU, else the slot's cores - 1."""
    if device.type == "cpu":
        return 0
    if cores is None:
        cores = int(os.environ.get(SLOT_CORES_ENV) or available_cores())
    return max(0, min(MAX_AUTO_WORKERS, cores - 1))


def _switch(value: Any, auto: bool) -> bool:
    return auto if value == "auto" else bool(value)


def resolve_speed(hparams: dict[str, Any], device: torch.device, num_workers: int | None) -> Speed:
    """Resolve hparams ``deterministic``/``channels_last`` and ``--num_workers`` on ``device``.

    ``num_workers`` None is auto; an explicit value (0 included) turns per-sample seeds on, so a
    run gives the same results with any number of workers.
    """
    cuda = device.type == "cuda"
    workers = auto_num_workers(device) if num_workers is None else num_workers
    return Speed(
        deterministic=_switch(hparams.get("deterministic", "auto"), not cuda),
        channels_last=cuda and _switch(hparams.get("channels_last", "auto"), True),
        num_workers=workers,
        pin_memory=cuda,
        sample_seeds=num_workers is not None or workers > 0,
    )


def configure_backends(deterministic: bool) -> None:
    """Deterministic: cudnn deterministic, no benchmark, no TF32 matmuls (bit-identical runs);
    else cudnn.benchmark and TF32 (faster convolutions and matmuls on Ampere and later)."""
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cuda.matmul.allow_tf32 = not deterministic
    torch.backends.cudnn.allow_tf32 = True  # torch's default; cudnn TF32 convs are deterministic


def has_conv2d(network: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in network.modules())


def prepare_network(network: nn.Module, speed: Speed) -> None:
    """channels_last for a conv network (in place)."""
    if speed.channels_last and has_conv2d(network):
        network.to(memory_format=torch.channels_last)


def to_device(x: Tensor, y: Tensor, device: torch.device, speed: Speed) -> tuple[Tensor, Tensor]:
    """A batch on ``device``: non_blocking from pinned memory, NHWC under channels_last."""
    if device.type == "cpu":
        return x.to(device), y.to(device)
    x = x.to(device, non_blocking=speed.pin_memory)
    if speed.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=speed.pin_memory)
