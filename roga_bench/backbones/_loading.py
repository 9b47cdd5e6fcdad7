"""Shared factory step: load local pretrained weights when a path is given."""

from __future__ import annotations

from torch import nn

__all__ = ["load_if_given"]


def load_if_given(model: nn.Module, pretrained: str) -> nn.Module:
    """Load ``pretrained`` (a local file path) into ``model`` unless it is empty; return model."""
    if pretrained:
        from roga_bench.backbones._weights import load_pretrained

        load_pretrained(model, pretrained)
    return model
