"""One ``update`` of every (algorithm, backbone) with K = 3 domains; see conftest for options."""

from __future__ import annotations

import torch

from roga_bench.bench import build_algorithm, make_minibatches, parse_backbone

K = 3


def test_update(benchmark, backbone: str, variant: str, batch: int) -> None:
    name, size = parse_backbone(backbone)
    torch.manual_seed(0)
    alg = build_algorithm(variant, name, size, K)
    alg.train()
    data = make_minibatches(K, batch, size, "cpu")
    out = benchmark.pedantic(alg.update, args=(data,), rounds=3, warmup_rounds=1)
    assert torch.isfinite(torch.tensor(out["loss"]))
