"""ERM: one forward/backward on the concatenation of the domains' minibatches."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from roga_bench._registry import register_algorithm
from roga_bench.algorithms._amp import LossScaler, Precision
from roga_bench.algorithms._base import Algorithm, Minibatches, build_base_optimizer
from roga_bench.backbones import build_backbone

__all__ = ["ERM"]


def concat(minibatches: Minibatches) -> tuple[Tensor, Tensor]:
    """All domains' ``(x, y)`` as one batch."""
    return torch.cat([x for x, _ in minibatches]), torch.cat([y for _, y in minibatches])


@register_algorithm
class ERM(Algorithm):
    """Empirical risk minimisation; d = g on the concatenated batch (DESIGN §4)."""

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        num_domains: int,
        hparams: dict[str, Any],
    ) -> None:
        super().__init__(input_shape, num_classes, num_domains, hparams)
        hp = self.hparams
        self.network = build_backbone(hp["backbone"], num_classes, hp["pretrained"])
        self.optimizer = build_base_optimizer(self.network.parameters(), hp)
        self.scaler = LossScaler() if hp["amp"] == "fp16" else None
        if self.scaler is not None:  # a pass with inf/nan gradients: the base step is skipped
            self.optimizer.register_step_pre_hook(self.scaler.skip_if_inf)
        self.precision = Precision(hp["amp"], self.scaler)

    def loss_closure(self, x: Tensor, y: Tensor) -> Any:
        """A closure that zero-grads, forwards ``x``, backwards the cross-entropy, returns it.

        Under ``amp`` the forward runs in autocast and, in fp16, the backward is scaled and its
        gradients unscaled before the optimizer reads them (``algorithms._amp``).
        """

        def closure() -> Tensor:
            self.optimizer.zero_grad()
            with self.precision.autocast(x.device):
                loss = F.cross_entropy(self.network(x), y)
            self.precision.backward(loss, self.network.parameters())
            return loss.detach()

        return closure

    def update(self, minibatches: Minibatches, unlabeled: Any = None) -> dict[str, float]:
        loss = self.loss_closure(*concat(minibatches))()
        self.optimizer.step()
        return self.precision.finish({"loss": loss.item()})

    def predict(self, x: Tensor) -> Tensor:
        with self.precision.autocast(x.device):
            logits = self.network(x)
        return logits if logits.dtype == torch.float32 else logits.float()
