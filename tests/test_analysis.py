"""roga_bench.analysis building blocks against closed forms (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from roga_bench.analysis import (
    compute_cams,
    filter_normalized_direction,
    gradient_alignment,
    hessian_top_eigenvalue,
    hutchinson_trace,
    latent_scores,
    localization_scores,
    penultimate_features,
    tsne_embedding,
    worst_case_sharpness,
)


def _quadratic(seed: int = 0):
    """L(θ) = ½ θᵀAθ with a known symmetric A (eigenvalues 5, 2, 1, 0.5, -0.3)."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=gen, dtype=torch.float64))
    eig = torch.tensor([5.0, 2.0, 1.0, 0.5, -0.3], dtype=torch.float64)
    a = q @ torch.diag(eig) @ q.T
    params = {"w": torch.randn(5, generator=gen, dtype=torch.float64)}
    return (lambda p: 0.5 * p["w"] @ a @ p["w"]), params, a


def test_power_iteration_returns_the_top_eigenvalue_of_a_quadratic():
    loss_fn, params, a = _quadratic()
    top = hessian_top_eigenvalue(loss_fn, params, iters=200, tol=1e-12, seed=1)
    assert top == pytest.approx(float(torch.linalg.eigvalsh(a).max()), rel=1e-6)


def test_hutchinson_estimates_the_trace_of_a_quadratic():
    loss_fn, params, a = _quadratic()
    trace = hutchinson_trace(loss_fn, params, samples=4000, seed=0)
    assert trace == pytest.approx(float(torch.trace(a)), abs=0.25)  # true trace 8.2


def test_worst_case_sharpness_of_a_linear_loss_is_rho_times_grad_norm():
    g = torch.tensor([3.0, -4.0, 12.0], dtype=torch.float64)  # ‖g‖ = 13
    params = {"w": torch.tensor([0.5, 0.1, -0.2], dtype=torch.float64)}
    loss_fn = lambda p: (g * p["w"]).sum()  # noqa: E731
    for rho in (0.05, 0.1, 0.5):
        assert worst_case_sharpness(loss_fn, params, rho, steps=3) == pytest.approx(13 * rho)


def test_adaptive_sharpness_of_a_linear_loss_is_rho_times_scaled_grad_norm():
    g = torch.tensor([3.0, -4.0], dtype=torch.float64)
    w = torch.tensor([2.0, -0.5], dtype=torch.float64)
    loss_fn = lambda p: (g * p["weight"]).sum()  # noqa: E731
    t = w.abs() + 0.01  # ASAM's T on a parameter named "weight"
    expected = 0.1 * float(torch.linalg.norm(t * g))
    got = worst_case_sharpness(loss_fn, {"weight": w}, 0.1, steps=2, adaptive=True)
    assert got == pytest.approx(expected)


def test_sharpness_of_a_quadratic_is_positive_and_grows_with_rho():
    loss_fn, params, _ = _quadratic()
    small = worst_case_sharpness(loss_fn, params, 0.01)
    large = worst_case_sharpness(loss_fn, params, 0.1)
    assert 0 < small < large


def test_filter_normalisation_gives_each_filter_the_norm_of_the_models_filter():
    conv = nn.Conv2d(3, 8, 3)
    params = dict(conv.named_parameters())
    d = filter_normalized_direction(params, seed=3)
    w = params["weight"].detach()
    assert torch.allclose(d["weight"].flatten(1).norm(dim=1), w.flatten(1).norm(dim=1), rtol=1e-5)
    assert not torch.allclose(d["weight"], w)  # a random direction, not θ itself
    assert torch.count_nonzero(d["bias"]) == 0  # 1-D parameters are left out (ignore='biasbn')


def _tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(4, 2),
    )  # fmt: skip


def test_alignment_of_two_identical_domains_is_one():
    net = _tiny_net()
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 3, 8, 8, generator=gen), torch.randint(0, 2, (8,), generator=gen)
    res = gradient_alignment(net, [[(x, y), (x, y)]], rho=0.05)
    assert res["pairwise_cos"] == pytest.approx(1.0, abs=1e-5)
    x2, y2 = torch.randn(8, 3, 8, 8, generator=gen), 1 - y
    other = gradient_alignment(net, [[(x, y), (x2, y2)]], rho=0.05)
    assert other["pairwise_cos"] < 0.99  # the check can fail: different domains are not aligned
    assert -1.0 <= other["perturbed_cos"] <= 1.0


class _Gate(nn.Module):
    def __init__(self, region: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("region", region.float())

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return a * self.region


class _LooksAt(nn.Module):
    """A conv net whose features exist only in a fixed spatial region (its CAM layer: ``gate``)."""

    def __init__(self, region: torch.Tensor) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1, bias=False)
        nn.init.constant_(self.conv.weight, 1.0)
        self.gate = _Gate(region)
        self.head = nn.Linear(1, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-1.0], [1.0]]))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.gate(torch.relu(self.conv(x)))
        return self.head(a.mean((2, 3)))


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_localisation_is_one_inside_the_mask_and_zero_outside(method):
    size = 16
    mask = np.zeros((size, size), np.float32)
    mask[4:10, 3:9] = 1.0
    inside = torch.from_numpy(mask)
    images = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(0)) + 0.1
    net_in, net_out = _LooksAt(inside), _LooksAt(1 - inside)
    cams_in = compute_cams(net_in, images, method, layer=net_in.gate)
    cams_out = compute_cams(net_out, images, method, layer=net_out.gate)
    looks_in = localization_scores(cams_in, [mask] * 3)
    looks_out = localization_scores(cams_out, [mask] * 3)
    assert looks_in["energy_in_mask"] > 0.95 and looks_in["pointing_game"] == 1.0
    assert looks_out["energy_in_mask"] < 0.05 and looks_out["pointing_game"] == 0.0


def test_cam_layer_is_the_last_spatial_map_after_the_activation():
    from roga_bench.analysis import last_spatial_layer
    from roga_bench.backbones import build_backbone

    net = build_backbone("small_cnn")
    layer = last_spatial_layer(net, torch.zeros(1, 3, 32, 32))
    assert layer is net.features[-3] and isinstance(layer, nn.ReLU)  # before pool and flatten


def test_localisation_skips_frames_without_masks():
    cams = np.ones((2, 4, 4), np.float32)
    res = localization_scores(cams, [None, np.zeros((4, 4))])
    assert res["n_scored"] == 0 and np.isnan(res["energy_in_mask"])


def test_latent_scores_separate_classes_and_domains():
    gen = np.random.default_rng(0)
    labels = np.repeat([0, 1], 60)
    domains = np.tile([0, 1, 2], 40)
    feats = gen.normal(size=(120, 4)) + labels[:, None] * 6.0
    mixed = latent_scores(feats, labels, domains)
    assert mixed["silhouette_real_fake"] > 0.5
    assert mixed["domain_knn_acc"] < 0.6  # domains not in the features: near chance (1/3)
    feats_dom = feats + np.eye(3)[domains] @ np.full((3, 4), 0.0) + domains[:, None] * 8.0
    assert latent_scores(feats_dom, labels, domains)["domain_knn_acc"] > 0.95


def test_tsne_and_features_are_deterministic_for_a_seed():
    net = _tiny_net()
    x = torch.randn(40, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    feats = penultimate_features(net, x)
    assert feats.shape == (40, 4)
    a, b = tsne_embedding(feats, seed=1), tsne_embedding(feats, seed=1)
    assert np.array_equal(a, b)
    loss = lambda p: sum((v**2).sum() for v in p.values())  # noqa: E731
    params = {"w": torch.randn(3, 4, generator=torch.Generator().manual_seed(0))}
    assert hessian_top_eigenvalue(loss, params, seed=4) == hessian_top_eigenvalue(
        loss, params, seed=4
    )
    assert hutchinson_trace(loss, params, seed=4) == hutchinson_trace(loss, params, seed=4)
