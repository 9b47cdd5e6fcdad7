"""Pretrained-weight loading: accepted file shapes, DeepfakeBench's released files, clear errors."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from safetensors.torch import save_file
from torch import nn
from torchvision.models import resnet34 as tv_resnet34

# meso, resnet, timm_models imported to register them until backbones/__init__.py imports them
from roga_bench.backbones import build_backbone, meso, resnet, timm_models  # noqa: F401
from roga_bench.backbones._weights import PretrainedKeysWarning, load_pretrained, read_state_dict


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _scramble(model: nn.Module) -> None:
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(1.0)


def _no_warnings(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PretrainedKeysWarning)
        return fn(*args)


def test_missing_file_names_path_and_says_nothing_is_downloaded(tmp_path) -> None:
    path = tmp_path / "nope" / "xception-b5690688.pth"
    with pytest.raises(FileNotFoundError, match="never downloads") as e:
        build_backbone("meso4", pretrained=str(path))
    assert str(path) in str(e.value)


@pytest.mark.parametrize(
    ("wrap", "suffix"),
    [
        (lambda sd: {"state_dict": {f"module.{k}": v for k, v in sd.items()}}, ".pth"),
        (lambda sd: {"model": {f"backbone.{k}": v for k, v in sd.items()}, "epoch": 3}, ".pt"),
        (lambda sd: {f"module.backbone.{k}": v for k, v in sd.items()}, ".pth"),
        (lambda sd: sd, ".safetensors"),
    ],
    ids=["state_dict+module", "model+backbone", "both-prefixes", "safetensors"],
)
def test_wrapped_prefixed_and_safetensors_files_load(wrap, suffix, tmp_path) -> None:
    source = meso.Meso4().eval()
    sd = {k: v.clone() for k, v in source.state_dict().items()}
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        save_file(sd, str(path))
    else:
        torch.save(wrap(sd), path)
    target = meso.Meso4().eval()
    _scramble(target)
    report = _no_warnings(load_pretrained, target, path)
    assert sorted(report.loaded) == sorted(sd)
    for k, v in target.state_dict().items():
        assert torch.equal(v, sd[k]), k


def test_torchvision_resnet34_file_head_replaced(tmp_path) -> None:
    # resnet34-b627a593.pth layout: torchvision names, 1000-way fc
    source = tv_resnet34(weights=None, num_classes=1000)
    path = tmp_path / "resnet34-b627a593.pth"
    torch.save(source.state_dict(), path)
    model = build_backbone("resnet34", num_classes=2)
    fresh_fc = model.fc.weight.detach().clone()
    report = _no_warnings(load_pretrained, model, path)
    assert report.head_dropped == ["fc.weight", "fc.bias"]
    assert report.missing == [] and report.unexpected == []
    assert model.fc.weight.shape == (2, 512)
    assert torch.equal(model.fc.weight, fresh_fc)  # the head keeps its own init
    assert torch.equal(model.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    assert torch.equal(model.bn1.running_var, source.bn1.running_var)


def test_deepfakebench_xception_file_with_2d_pointwise_weights(tmp_path) -> None:
    model = build_backbone("xception", num_classes=2).eval()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    # Cadene/FaceForensics++ layout of xception-b5690688.pth: same names, pointwise [out, in],
    # a 1000-way head "fc", and no num_batches_tracked (the file predates torch 0.4)
    cadene = {
        k: (v[:, :, 0, 0] if ".pointwise." in k else v)
        for k, v in reference.items()
        if not k.endswith("num_batches_tracked") and not k.startswith("fc.")
    }
    assert cadene["block1.rep.0.pointwise.weight"].shape == (128, 64)
    cadene["fc.weight"], cadene["fc.bias"] = torch.randn(1000, 2048), torch.zeros(1000)
    path = tmp_path / "xception-b5690688.pth"
    torch.save(cadene, path)
    _scramble(model)
    report = _no_warnings(load_pretrained, model, path)
    assert report.head_dropped == ["fc.weight", "fc.bias"]
    assert report.missing == [] and report.unexpected == []
    assert any("34 2-D pointwise" in n for n in report.conversions)  # 12 blocks' 32 + conv3/4
    for k, v in model.state_dict().items():
        if not k.startswith("fc.") and not k.endswith("num_batches_tracked"):
            assert torch.equal(v, reference[k]), k


def test_deepfakebench_trained_xception_head_last_linear(tmp_path) -> None:
    model = build_backbone("xception", num_classes=2)
    head = {"weight": torch.randn(2, 2048), "bias": torch.randn(2)}
    sd = {f"backbone.{k}": v for k, v in model.state_dict().items() if not k.startswith("fc.")}
    sd |= {f"backbone.last_linear.1.{k}": v for k, v in head.items()}  # Dropout then Linear
    sd["backbone.adjust_channel.0.weight"] = torch.zeros(512, 2048, 1, 1)  # DeepfakeBench extra
    torch.save({"state_dict": sd}, tmp_path / "xception_best.pth")
    with pytest.warns(PretrainedKeysWarning, match="1 file keys unused"):
        report = load_pretrained(model, tmp_path / "xception_best.pth")
    assert report.unexpected == ["adjust_channel.0.weight"] and report.missing == []
    assert torch.equal(model.fc.weight, head["weight"])


# efficientnet_pytorch's EfficientNet-B4, derived independently of timm from its own rules
# (width 1.4, depth 1.8, divisor 8; blocks: repeats, kernel, expand, in, out), so the key names
# and shapes below are what efficientnet-b4-6ed6700e.pth holds.
_B4_BLOCKS = [(1, 3, 1, 32, 16), (2, 3, 6, 16, 24), (2, 5, 6, 24, 40), (3, 3, 6, 40, 80)]
_B4_BLOCKS += [(3, 5, 6, 80, 112), (4, 5, 6, 112, 192), (1, 3, 6, 192, 320)]


def _filters(c: int) -> int:
    new = max(8, int(c * 1.4 + 4) // 8 * 8)
    return new + 8 if new < 0.9 * c * 1.4 else new


def _lukemelas_b4_shapes(num_classes: int = 1000) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}

    def conv_bn(conv: str, bn: str, shape: tuple[int, ...]) -> None:
        shapes[conv + ".weight"] = shape
        for stat in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{bn}.{stat}"] = (shape[0],)

    conv_bn("_conv_stem", "_bn0", (_filters(32), 3, 3, 3))
    j = 0
    for repeats, k, expand, c_in, c_out in _B4_BLOCKS:
        c_in, c_out = _filters(c_in), _filters(c_out)
        for r in range(math.ceil(1.8 * repeats)):
            cin = c_in if r == 0 else c_out
            mid, sq, p = cin * expand, max(1, int(cin * 0.25)), f"_blocks.{j}."
            if expand != 1:
                conv_bn(p + "_expand_conv", p + "_bn0", (mid, cin, 1, 1))
            conv_bn(p + "_depthwise_conv", p + "_bn1", (mid, 1, k, k))
            shapes |= {p + "_se_reduce.weight": (sq, mid, 1, 1), p + "_se_reduce.bias": (sq,)}
            shapes |= {p + "_se_expand.weight": (mid, sq, 1, 1), p + "_se_expand.bias": (mid,)}
            conv_bn(p + "_project_conv", p + "_bn2", (c_out, mid, 1, 1))
            j += 1
    conv_bn("_conv_head", "_bn1", (_filters(1280), _filters(320), 1, 1))
    return shapes | {"_fc.weight": (num_classes, _filters(1280)), "_fc.bias": (num_classes,)}


def test_lukemelas_efficientnet_b4_file_maps_onto_timm(tmp_path) -> None:
    shapes = _lukemelas_b4_shapes()
    assert sum(k.endswith("_project_conv.weight") for k in shapes) == 32
    g = torch.Generator().manual_seed(0)
    sd = {k: torch.randn(s, generator=g) for k, s in shapes.items()}
    path = tmp_path / "efficientnet-b4-6ed6700e.pth"
    torch.save(sd, path)
    model = build_backbone("efficientnet_b4", num_classes=2)
    report = _no_warnings(load_pretrained, model, path)
    assert report.missing == [] and report.unexpected == []
    assert report.head_dropped == ["classifier.weight", "classifier.bias"]
    assert len(report.loaded) == len(shapes) - 2
    # stage 0 has two expand-1 blocks, so lukemelas block 2 is timm blocks.1.0
    assert torch.equal(model.blocks[0][1].conv_pw.weight, sd["_blocks.1._project_conv.weight"])
    assert torch.equal(model.blocks[1][0].conv_pw.weight, sd["_blocks.2._expand_conv.weight"])
    assert torch.equal(model.blocks[1][0].bn3.running_var, sd["_blocks.2._bn2.running_var"])
    assert torch.equal(model.blocks[6][1].se.conv_expand.bias, sd["_blocks.31._se_expand.bias"])
    assert torch.equal(model.bn2.weight, sd["_bn1.weight"])  # head BN, not block BN
    assert torch.equal(model.bn1.weight, sd["_bn0.weight"])  # stem BN
    assert type(model.conv_stem).__name__ == "Conv2dSame"  # TF padding, as the file was trained


def test_lukemelas_file_into_another_backbone_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "efficientnet-b4-6ed6700e.pth"
    torch.save({"_conv_stem.weight": torch.zeros(48, 3, 3, 3)}, path)
    with pytest.raises(ValueError, match="only into the efficientnet_b4"):
        build_backbone("resnet34", pretrained=str(path))


def test_wrong_architecture_and_wrong_shape_are_errors(tmp_path) -> None:
    torch.save(tv_resnet34(weights=None).state_dict(), tmp_path / "r.pth")
    with pytest.raises(ValueError, match="none of its .* keys match Meso4"):
        build_backbone("meso4", pretrained=str(tmp_path / "r.pth"))
    sd = meso.Meso4().state_dict()
    sd["features.0.weight"] = torch.zeros(8, 3, 5, 5)
    torch.save(sd, tmp_path / "m.pth")
    with pytest.raises(ValueError, match=r"'features.0.weight' has shape \[8, 3, 5, 5\]"):
        build_backbone("meso4", pretrained=str(tmp_path / "m.pth"))


class _NotAllowed:  # a pickled custom object: refused by torch.load(weights_only=True)
    pass


@pytest.mark.parametrize(
    ("obj", "match"),
    [([1, 2, 3], "expected a state dict"), ({"x": _NotAllowed()}, "weights_only=True")],
)
def test_unreadable_files(obj, match, tmp_path) -> None:
    torch.save(obj, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=match):
        read_state_dict(tmp_path / "bad.pth")
    (tmp_path / "trunc.pth").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="trunc.pth"):
        read_state_dict(tmp_path / "trunc.pth")


def test_missing_and_unexpected_keys_are_warned_and_returned(tmp_path) -> None:
    sd = meso.Meso4().state_dict()
    del sd["features.2.running_mean"]
    sd["extra.weight"] = torch.zeros(1)
    torch.save(sd, tmp_path / "m.pth")
    with pytest.warns(PretrainedKeysWarning, match="1 model weights not in the file"):
        report = load_pretrained(meso.Meso4(), tmp_path / "m.pth")
    assert report.missing == ["features.2.running_mean"]
    assert report.unexpected == ["extra.weight"]
