"""MesoNet Meso-4 (Afchar et al., "MesoNet: a Compact Facial Video Forgery Detection Network",
WIFS 2018), written from the paper's Keras model.

Four conv blocks (8, 8, 16, 16 filters; kernels 3, 5, 5, 5; each conv -> ReLU -> BatchNorm ->
max-pool 2, 2, 2, 4), then dropout 0.5, a 16-unit dense layer with LeakyReLU(0.1), dropout 0.5
and the output layer (``num_classes`` logits instead of the paper's single sigmoid unit).
The last pool is adaptive to 8x8: at the paper's 256 px it is exactly max-pool 4 (32 -> 8), and
smaller inputs (>= 8 px) still give the paper's 16*8*8 features, so the dense layers keep the
paper's shapes at every size. Unlike DeepfakeBench's port, each conv has its own BatchNorm.
"""

from __future__ import annotations

from torch import Tensor, nn

from roga_bench._registry import register_backbone
from roga_bench.backbones._loading import load_if_given

__all__ = ["Meso4", "meso4"]


def _block(c_in: int, c_out: int, kernel: int) -> list[nn.Module]:
    # the paper's order: Conv2D(activation="relu") then BatchNormalization; the conv keeps its
    # bias (Keras' default, counted in the paper's 27,977 parameters): before a ReLU it matters
    conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
    return [conv, nn.ReLU(inplace=True), nn.BatchNorm2d(c_out)]


class Meso4(nn.Module):
    """Meso-4: ``[N, 3, H, W]`` (H, W >= 8; 256 in the paper) -> ``[N, num_classes]`` logits."""

    def __init__(self, num_classes: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_block(3, 8, 3),
            nn.MaxPool2d(2),
            *_block(8, 8, 5),
            nn.MaxPool2d(2),
            *_block(8, 16, 5),
            nn.MaxPool2d(2),
            *_block(16, 16, 5),
            nn.AdaptiveMaxPool2d(8),  # = MaxPool2d(4) at 256 px input
            nn.Flatten(),
        )
        self.n_outputs = 16 * 8 * 8
        self.fc1 = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(self.n_outputs, 16), nn.LeakyReLU(0.1)
        )
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(16, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.fc1(self.features(x)))


@register_backbone("meso4")
def meso4(num_classes: int = 2, pretrained: str = "", **_: object) -> nn.Module:
    """Meso-4 with a ``num_classes``-way output; ``pretrained`` a local state-dict file."""
    return load_if_given(Meso4(num_classes), pretrained)
