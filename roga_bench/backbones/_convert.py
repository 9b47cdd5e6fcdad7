"""Rename/reshape foreign checkpoint layouts into the layout of our backbones.

- Cadene ``pretrainedmodels`` / FaceForensics++ / DeepfakeBench Xception
  (``xception-b5690688.pth``): the key names already equal timm's ``legacy_xception`` (same
  module tree: conv1, bn1, block1..12 with ``rep.N.conv1``/``rep.N.pointwise``, conv3/4, bn3/4),
  but that file predates 1x1-conv weights being 4-D, so its ``pointwise`` weights are
  ``[out, in]`` and become ``[out, in, 1, 1]``. Its head is ``fc`` (pretrainedmodels renames it
  ``last_linear`` only after loading); DeepfakeBench-trained detectors use ``last_linear`` or
  ``last_linear.1`` (after a Dropout), mapped to timm's ``fc``.
- lukemelas ``efficientnet_pytorch`` (``efficientnet-b4-6ed6700e.pth``): a flat ``_blocks.J``
  list mapped onto timm's nested ``blocks.S.I`` in order; the weights are the TF-ported ones, so
  they belong in timm's ``tf_efficientnet_b4`` (TF "same" padding, BN eps 1e-3), which is what
  our ``efficientnet_b4`` builds. Verified: both models give the same logits after mapping.
- torchvision ``resnet34-b627a593.pth`` needs nothing: our resnet34 is torchvision's.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

__all__ = ["convert_state_dict", "lukemelas_to_timm_efficientnet"]

# lukemelas name -> timm name, per part of the network. A block without an expansion conv
# (expand ratio 1) is timm's DepthwiseSeparableConv; the others are InvertedResidual.
_LM_TOP = {
    "_conv_stem.": "conv_stem.",
    "_bn0.": "bn1.",
    "_conv_head.": "conv_head.",
    "_bn1.": "bn2.",
    "_fc.": "classifier.",
    "last_layer.": "classifier.",  # DeepfakeBench's EfficientNetB4 wrapper head
}
_LM_SE = {"_se_reduce.": "se.conv_reduce.", "_se_expand.": "se.conv_expand."}
_LM_DS = {
    "_depthwise_conv.": "conv_dw.",
    "_bn1.": "bn1.",
    "_project_conv.": "conv_pw.",
    "_bn2.": "bn2.",
    **_LM_SE,
}
_LM_IR = {
    "_expand_conv.": "conv_pw.",
    "_bn0.": "bn1.",
    "_depthwise_conv.": "conv_dw.",
    "_bn1.": "bn2.",
    "_project_conv.": "conv_pwl.",
    "_bn2.": "bn3.",
    **_LM_SE,
}


def convert_state_dict(
    sd: dict[str, Tensor], model: nn.Module, path: Path
) -> tuple[dict[str, Tensor], list[str]]:
    """Bring a foreign state dict into ``model``'s naming and shapes.

    Args:
        sd: state dict with wrapper prefixes already stripped.
        model: the target backbone.
        path: the file, for messages.

    Returns:
        The converted state dict and human-readable notes of what was changed.

    Raises:
        ValueError: a lukemelas EfficientNet file given to a model that is not a timm
            EfficientNet, or one with another number of blocks.
    """
    notes: list[str] = []
    if "efficientnet._conv_stem.weight" in sd:  # DeepfakeBench's EfficientNetB4 wrapper
        sd = {_strip(k, "efficientnet."): v for k, v in sd.items()}
    if "_conv_stem.weight" in sd:
        sd = lukemelas_to_timm_efficientnet(sd, model, path)
        notes.append("renamed lukemelas efficientnet_pytorch keys to timm EfficientNet keys")
    if _is_timm("timm.models.xception", model):
        renamed = {_xception_head(k): v for k, v in sd.items()}
        if renamed.keys() != sd.keys():
            notes.append("renamed head last_linear -> fc (DeepfakeBench Xception)")
        sd = renamed
    return _reshape_2d_pointwise(sd, model, notes), notes


def _strip(key: str, prefix: str) -> str:
    return key[len(prefix) :] if key.startswith(prefix) else key


def _is_timm(module: str, model: nn.Module) -> bool:
    return type(model).__module__ == module


def _xception_head(key: str) -> str:
    for old in ("last_linear.1.", "last_linear."):
        if key.startswith(old):
            return "fc." + key[len(old) :]
    return key


def _reshape_2d_pointwise(
    sd: dict[str, Tensor], model: nn.Module, notes: list[str]
) -> dict[str, Tensor]:
    """``[out, in]`` weights where the model has a 1x1 conv ``[out, in, 1, 1]`` get reshaped."""
    target = model.state_dict()
    n = 0
    out = dict(sd)
    for key, value in sd.items():
        want = target.get(key)
        if want is not None and value.dim() == 2 and tuple(want.shape) == (*value.shape, 1, 1):
            out[key] = value.reshape(want.shape)
            n += 1
    if n:
        notes.append(f"reshaped {n} 2-D pointwise conv weights to [out, in, 1, 1] (Cadene layout)")
    return out


def lukemelas_to_timm_efficientnet(
    sd: dict[str, Tensor], model: nn.Module, path: Path
) -> dict[str, Tensor]:
    """Rename an ``efficientnet_pytorch`` state dict to timm's EfficientNet naming.

    Args:
        sd: lukemelas-named state dict (``_conv_stem``, ``_blocks.J.*``, ``_fc``).
        model: a timm ``EfficientNet`` whose ``blocks`` give the target order.
        path: the file, for messages.

    Returns:
        The renamed dict; keys that fit no rule are kept (reported as unexpected later).

    Raises:
        ValueError: ``model`` is not a timm EfficientNet, or the block counts differ.
    """
    if not _is_timm("timm.models.efficientnet", model):
        raise ValueError(
            f"{path}: holds a lukemelas efficientnet_pytorch state dict, which loads only into "
            f"the efficientnet_b4 backbone, not {type(model).__name__}"
        )
    slots = [f"blocks.{s}.{i}." for s, stage in enumerate(model.blocks) for i in range(len(stage))]
    n_file = 1 + max((int(k.split(".")[1]) for k in sd if k.startswith("_blocks.")), default=-1)
    if n_file != len(slots):
        raise ValueError(
            f"{path}: the file's EfficientNet has {n_file} blocks but the model has {len(slots)}; "
            "efficientnet-b4 files (efficientnet-b4-6ed6700e.pth) fit efficientnet_b4"
        )
    out: dict[str, Tensor] = {}
    for key, value in sd.items():
        out[_lukemelas_key(key, sd, slots)] = value
    return out


def _lukemelas_key(key: str, sd: dict[str, Tensor], slots: list[str]) -> str:
    if key.startswith("_blocks."):
        _, j, rest = key.split(".", 2)
        table = _LM_IR if f"_blocks.{j}._expand_conv.weight" in sd else _LM_DS
        part = next((p for p in table if rest.startswith(p)), None)
        return key if part is None else slots[int(j)] + table[part] + rest[len(part) :]
    part = next((p for p in _LM_TOP if key.startswith(p)), None)
    return key if part is None else _LM_TOP[part] + key[len(part) :]
