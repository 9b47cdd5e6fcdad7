"""Mixed precision for every algorithm, one- or two-pass, without touching ``roga_bench.optim``.

hparam ``amp``: ``auto`` (bf16 on a CUDA device that supports it, else none), ``none`` (fp32,
today's bit-exact path), ``bf16`` (autocast, no scaling) or ``fp16`` (autocast plus loss scaling).

fp16 and two-pass optimizers: ``torch.amp.GradScaler`` unscales once per optimizer step, but
SAM-style optimizers read the gradient twice (davda54/sam's known trap: the ascent step of a
scaled gradient is ρ-normalised and looks fine, the descent step is scaled). Here each backward
pass is unscaled right after it runs, inside the algorithm's closure (:meth:`LossScaler.backward`),
so every pass the optimizer sees holds true gradients. A non-finite gradient in any pass (either
pass, any of RoGA's K domains) marks the step: the wrappers still restore θ bit-exactly, and a
step pre-hook on the base optimizer drops every ``.grad`` so the base step changes nothing
(no update, no momentum, no weight decay). Then the scale backs off; after ``growth_interval``
clean steps it grows, as GradScaler does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["AMP_MODES", "LossScaler", "Precision", "resolve_amp"]

AMP_MODES = ("auto", "none", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_amp(mode: str, device: torch.device) -> str:
    """The concrete mode (none | bf16 | fp16) of hparam ``amp`` on ``device``."""
    if mode not in AMP_MODES:
        raise ValueError(f"hparam 'amp' = {mode!r}; expected one of {list(AMP_MODES)}")
    if mode != "auto":
        return mode
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "none"


class LossScaler(nn.Module):
    """fp16 loss scaling that is correct for one- and two-pass optimizers (module docstring).

    The scale and growth counter are buffers, so they are checkpointed with the algorithm.
    """

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(float(init_scale)))
        self.register_buffer("clean_steps", torch.tensor(0))
        self.growth_factor, self.backoff_factor = growth_factor, backoff_factor
        self.growth_interval = growth_interval
        self.found_inf = False

    def backward(self, loss: Tensor, params: Iterable[nn.Parameter]) -> None:
        """``(scale · loss).backward()``, then unscale this pass's gradients and check them."""
        scale = float(self.scale)
        (loss * scale).backward()
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        torch._foreach_mul_(grads, 1.0 / scale)
        norms = torch.stack([n.float() for n in torch._foreach_norm(grads)])
        if not bool(torch.isfinite(norms).all()):
            self.found_inf = True

    def skip_if_inf(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        """Step pre-hook: with a non-finite pass in this step, drop every gradient (no update)."""
        if self.found_inf:
            for group in optimizer.param_groups:
                for p in group["params"]:
                    p.grad = None

    def update(self) -> bool:
        """End of a step: adjust the scale; True when the step was skipped."""
        skipped = self.found_inf
        if skipped:
            self.scale.mul_(self.backoff_factor)
            self.clean_steps.zero_()
        else:
            self.clean_steps.add_(1)
            if int(self.clean_steps) >= self.growth_interval:
                self.scale.mul_(self.growth_factor)
                self.clean_steps.zero_()
        self.found_inf = False
        return skipped


class Precision:
    """The precision of one algorithm: an autocast context, a backward, the step's bookkeeping.

    Args:
        mode: hparam ``amp`` (auto | none | bf16 | fp16).
        scaler: the algorithm's :class:`LossScaler` (fp16 only).
    """

    def __init__(self, mode: str, scaler: LossScaler | None) -> None:
        if mode not in AMP_MODES:
            raise ValueError(f"hparam 'amp' = {mode!r}; expected one of {list(AMP_MODES)}")
        self.mode, self.scaler = mode, scaler
        self._resolved: tuple[str, str] | None = None  # (device type, concrete mode)

    def resolve(self, device: torch.device) -> str:
        """The concrete mode on ``device`` (cached per device type)."""
        if self._resolved is None or self._resolved[0] != device.type:
            self._resolved = (device.type, resolve_amp(self.mode, device))
        return self._resolved[1]

    @contextlib.contextmanager
    def autocast(self, device: torch.device) -> Iterator[None]:
        """Autocast to the mode's dtype on ``device``; nothing at all for ``none``."""
        mode = self.resolve(device)
        if mode == "none":
            yield
            return
        with torch.autocast(device.type, dtype=_DTYPES[mode]):
            yield

    def backward(self, loss: Tensor, params: Iterable[nn.Parameter]) -> None:
        """``loss.backward()``, scaled and unscaled per pass in fp16."""
        if self.scaler is None:
            loss.backward()
        else:
            self.scaler.backward(loss, params)

    def finish(self, values: dict[str, float]) -> dict[str, float]:
        """After the step: in fp16, update the scale; a skipped step keeps only finite values."""
        if self.scaler is None:
            return values
        scale = float(self.scaler.scale)
        if self.scaler.update():
            values = {k: v for k, v in values.items() if torch.isfinite(torch.tensor(v))}
            return {**values, "amp_skipped": 1.0, "loss_scale": scale}
        return {**values, "amp_skipped": 0.0, "loss_scale": scale}
