"""Backbones: forward shapes at small sizes, Meso-4 at the paper's 256 px, round-trip loading."""

from __future__ import annotations

import pytest
import torch
from torch import nn

# meso, resnet, timm_models imported to register them until backbones/__init__.py imports them
from roga_bench.backbones import build_backbone, list_backbones, meso, resnet, timm_models  # noqa: F401
from roga_bench.backbones._weights import load_pretrained

# (name, smallest-ish input size the test runs at); kept small: CPU, 2 shared cores
BACKBONES = [
    ("resnet34", 32),
    ("resnet34_slim", 32),
    ("xception", 32),
    ("efficientnet_b4", 32),
    ("meso4", 32),
]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _randomise_bn(model: nn.Module) -> None:
    """Non-trivial BatchNorm statistics, so a load that skips buffers changes the output."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


def test_registered() -> None:
    names = list_backbones()
    assert {"resnet34", "xception", "efficientnet_b4", "meso4"} <= set(names)


def _head(model: nn.Module) -> nn.Linear:
    return model.get_classifier() if hasattr(model, "get_classifier") else model.fc


@pytest.mark.parametrize(("name", "size"), BACKBONES)
def test_forward_shape_head_and_roundtrip(name: str, size: int, tmp_path) -> None:
    # one build per backbone (xception/efficientnet_b4 are slowish on a shared CPU)
    torch.manual_seed(0)
    model = build_backbone(name, num_classes=3).eval()
    head = model.classifier[-1] if name == "meso4" else _head(model)
    assert head.out_features == 3
    _randomise_bn(model)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 3)
    assert torch.isfinite(y).all()
    path = tmp_path / f"{name}.pth"
    torch.save(model.state_dict(), path)
    with torch.no_grad():  # scramble every weight and statistic, then load them back
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(torch.randn_like(t)).abs_()
        assert not torch.allclose(model(x), y)
    report = load_pretrained(model, path)
    assert report.missing == report.unexpected == report.head_dropped == []
    with torch.no_grad():
        assert torch.equal(model(x), y)


@pytest.mark.parametrize(
    "name", ["meso4", "resnet34", "resnet34_slim", "small_cnn", "small_cnn_nobn"]
)
def test_factory_loads_pretrained_path(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    source = build_backbone(name).eval()
    _randomise_bn(source)
    path = tmp_path / "weights.pth"
    torch.save(source.state_dict(), path)
    torch.manual_seed(1)  # another init: equality below comes from the file
    loaded = build_backbone(name, pretrained=str(path)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), source(x))


def test_efficientnet_b4_variant_is_checked() -> None:
    with pytest.raises(ValueError, match="variant"):
        build_backbone("efficientnet_b4", variant="efficientnet_b7")


def test_meso4_matches_the_paper_at_256_px() -> None:
    model = meso.Meso4(num_classes=2).eval()
    shapes = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o: shapes.append(tuple(o.shape[1:])))
        for m in model.features
        if isinstance(m, (nn.MaxPool2d, nn.AdaptiveMaxPool2d))
    ]
    with torch.no_grad():
        assert model(torch.randn(1, 3, 256, 256)).shape == (1, 2)
    for h in hooks:
        h.remove()
    # Afchar et al. Fig. 4: 128x128x8, 64x64x8, 32x32x16, 8x8x16 -> 1024 features
    assert shapes == [(8, 128, 128), (8, 64, 64), (16, 32, 32), (16, 8, 8)]
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(8, 3), (8, 5), (16, 5), (16, 5)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 4  # one per conv
    assert model.fc1[1].in_features == 16 * 8 * 8 and model.fc1[1].out_features == 16
    n_params = sum(p.numel() for p in model.parameters())
    # paper: 27,977 trainable parameters with a 1-unit output (16 + 1); ours has 2 x (16 + 1)
    assert n_params == 27977 - 17 + 2 * 17


def test_meso4_trains_at_small_size() -> None:
    model = meso.Meso4().train()
    out = model(torch.randn(3, 3, 16, 16))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_resnet34_slim_is_resnet34_at_a_quarter_width() -> None:
    """Same block layout, strides and parameter names as ResNet-34; every width / 4."""
    full, slim = build_backbone("resnet34"), build_backbone("resnet34_slim")
    assert type(slim).__mro__[1] is type(full)  # torchvision's ResNet class, not hand-rolled
    full_sd, slim_sd = full.state_dict(), slim.state_dict()
    assert list(full_sd) == list(slim_sd)
    for name, tensor in full_sd.items():
        shape = tuple(slim_sd[name].shape)
        if name == "fc.weight":
            assert shape == (2, 128)
        elif tensor.dim() == 4:  # conv: out and in channels / 4 (RGB input stays 3)
            c_in = 3 if name == "conv1.weight" else tensor.shape[1] // 4
            assert shape == (tensor.shape[0] // 4, c_in, *tensor.shape[2:]), name
    assert (
        sum(p.numel() for p in slim.parameters()) < sum(p.numel() for p in full.parameters()) / 15
    )
    assert build_backbone("resnet34_slim", width=64).state_dict()["fc.weight"].shape == (2, 512)
