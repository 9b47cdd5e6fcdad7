"""The DomainBed ``Algorithm`` contract and what every algorithm here builds the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from roga_bench.hparams import SHARED_HPARAMS, HParam, class_hparams, validate_hparams

__all__ = ["Algorithm", "Minibatches", "build_base_optimizer"]

Minibatches = Sequence[tuple[Tensor, Tensor]]


class Algorithm(nn.Module):
    """A domain-generalization method, exactly DomainBed's contract.

    Subclasses build ``self.network`` (x -> logits) and ``self.optimizer`` (the base torch
    optimizer that applies the final update) and declare their own hparams in ``HPARAMS``.

    Args:
        input_shape: shape of one input, e.g. (3, 256, 256).
        num_classes: number of logits (2: real/fake).
        num_domains: number of training environments (minibatches per ``update``).
        hparams: the run's hparams; missing names of this class's space take their defaults.

    Raises:
        ValueError: an hparam of the space is out of range (negative lr/rho/alpha, ...).
    """

    HPARAMS: dict[str, HParam] = {}

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        num_domains: int,
        hparams: Mapping[str, Any],
    ) -> None:
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.num_domains = num_domains
        self.hparams = self._complete(hparams)

    @classmethod
    def space(cls) -> dict[str, HParam]:
        """Shared hparams plus every ``HPARAMS`` along the MRO (subclasses win)."""
        return {**SHARED_HPARAMS, **class_hparams(cls)}

    @classmethod
    def _complete(cls, hparams: Mapping[str, Any]) -> dict[str, Any]:
        space = cls.space()
        # Names outside the space (dataset options) pass through; those inside are checked.
        validate_hparams({k: v for k, v in hparams.items() if k in space}, space)
        return {**{k: hp.default for k, hp in space.items()}, **hparams}

    def update(self, minibatches: Minibatches, unlabeled: Any = None) -> dict[str, float]:
        """One training step on one ``(x, y)`` minibatch per training domain.

        Returns:
            Floats that become columns of results.jsonl (at least ``"loss"``).
        """
        raise NotImplementedError

    def predict(self, x: Tensor) -> Tensor:
        """Logits ``[N, num_classes]``."""
        raise NotImplementedError


def build_base_optimizer(
    params: Iterable[nn.Parameter], hparams: Mapping[str, Any]
) -> torch.optim.Optimizer:
    """The base optimizer named by ``hparams["optimizer"]`` (sgd | adam).

    Uses ``lr``, ``weight_decay`` (L2, inside the base optimizer) and, for SGD, ``momentum``.

    Raises:
        ValueError: an unknown optimizer name.
    """
    name = hparams["optimizer"]
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=hparams["lr"],
            momentum=hparams["momentum"],
            weight_decay=hparams["weight_decay"],
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=hparams["lr"], weight_decay=hparams["weight_decay"])
    raise ValueError(f"hparam 'optimizer' = {name!r}; expected one of ['sgd', 'adam']")
