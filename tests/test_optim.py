"""The optimizers of ``roga_bench.optim`` against the closed forms of DESIGN §4 on a quadratic.

L_i(θ) = ½ θᵀA_iθ − b_iᵀθ per domain, so g_i = A_iθ − b_i and every direction has a closed form.
θ is split over two parameter tensors so the "global norm over all parameters" is exercised.
A base optimizer that records ``.grad`` and the parameters at ``step()`` shows what the wrapper
hands to it.
"""

from __future__ import annotations

import pytest
import torch

from roga_bench.optim import ETA, GSAM, SAGM, SAM, RoGA

K, DIM = 3, 5
RHO, ALPHA = 0.3, 0.05


class RecordingSGD(torch.optim.SGD):
    """SGD that remembers the direction and the parameters it was given."""

    def step(self, closure=None):  # type: ignore[override]
        params = [p for g in self.param_groups for p in g["params"]]
        self.seen_grad = torch.cat([p.grad.detach().reshape(-1).clone() for p in params])
        self.seen_params = torch.cat([p.detach().reshape(-1).clone() for p in params])
        return super().step(closure)


def _assert_close(actual, expected, atol=1e-12):
    """Max-abs comparison (torch.testing.assert_close costs seconds of imports on first use)."""
    assert actual.shape == expected.shape
    err = float((actual.detach() - expected.detach()).abs().max())
    assert err <= atol, f"max abs error {err:.3g} > {atol:.3g}"


def _problem(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    mats, vecs = [], []
    for _ in range(K):
        m = torch.randn(DIM, DIM, generator=gen, dtype=torch.float64)
        mats.append(m @ m.T / DIM + 0.5 * torch.eye(DIM, dtype=torch.float64))
        vecs.append(torch.randn(DIM, generator=gen, dtype=torch.float64))
    theta0 = torch.randn(DIM, generator=gen, dtype=torch.float64)
    return mats, vecs, theta0


def _params(theta0: torch.Tensor) -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(theta0[:3].clone()), torch.nn.Parameter(theta0[3:].clone())]


def _loss(params, mat, vec):
    theta = torch.cat([p.reshape(-1) for p in params])
    return 0.5 * theta @ mat @ theta - vec @ theta


def _closure(opt, params, mats, vecs):
    """Closure on the mean loss over the given domains (the 'concatenated batch')."""

    def closure():
        opt.zero_grad()
        loss = sum(_loss(params, m, v) for m, v in zip(mats, vecs, strict=True)) / len(mats)
        loss.backward()
        return loss

    return closure


def _grad(mat, vec, theta):
    return mat @ theta - vec


def _mean(xs):
    return sum(xs) / len(xs)


def _run(make, domains: bool = False):
    mats, vecs, theta0 = _problem()
    params = _params(theta0)
    base = RecordingSGD(params, lr=0.1)
    opt = make(base)
    if domains:
        opt.step([_closure(opt, params, [m], [v]) for m, v in zip(mats, vecs, strict=True)])
    else:
        opt.step(_closure(opt, params, mats, vecs))
    return base, mats, vecs, theta0, params


def _sam_like(theta, mat, vec, scale_fn):
    g = _grad(mat, vec, theta)
    e = scale_fn(g)
    return g, _grad(mat, vec, theta + e)


@pytest.mark.parametrize("adaptive", [False, True])
def test_sam_and_asam_direction_closed_form(adaptive):
    base, mats, vecs, theta, params = _run(lambda b: SAM(b, rho=RHO, adaptive=adaptive))
    mat, vec = _mean(mats), _mean(vecs)
    g = _grad(mat, vec, theta)
    if adaptive:
        t = theta.abs() + 0.01  # no model: every parameter is a weight, T = |w| + eta_T
        e = RHO * t**2 * g / (torch.linalg.norm(t * g) + ETA)
    else:
        e = RHO * g / (torch.linalg.norm(g) + ETA)
    _assert_close(base.seen_grad, _grad(mat, vec, theta + e), atol=1e-12)
    assert torch.equal(base.seen_params, theta)  # restored bit-exactly before the base step
    new = torch.cat([p.detach() for p in params])
    _assert_close(new, theta - 0.1 * base.seen_grad, atol=1e-14)


def test_asam_scales_weights_only_when_the_model_names_them():
    """Kwon et al.'s code: T = |w| + 0.01 on ``weight`` parameters, T = 1 on biases."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1).double()
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
    w0, b0 = model.weight.detach().clone(), model.bias.detach().clone()
    base = RecordingSGD(model.parameters(), lr=0.1)
    opt = SAM(base, rho=RHO, adaptive=True, model=model)

    def loss_at(w, b):
        return ((x @ w.T + b - y) ** 2).mean()

    def closure():
        opt.zero_grad()
        loss = loss_at(model.weight, model.bias)
        loss.backward()
        return loss

    opt.step(closure)
    w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
    gw, gb = torch.autograd.grad(loss_at(w, b), (w, b))
    tw, tb = w0.abs() + 0.01, torch.ones_like(b0)
    norm = torch.sqrt(((tw * gw) ** 2).sum() + ((tb * gb) ** 2).sum())
    ew, eb = RHO * tw**2 * gw / (norm + ETA), RHO * tb**2 * gb / (norm + ETA)
    w2, b2 = (w0 + ew).requires_grad_(), (b0 + eb).requires_grad_()
    expected = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss_at(w2, b2), (w2, b2))])
    _assert_close(base.seen_grad, expected, atol=1e-12)


def test_sagm_direction_closed_form():
    base, mats, vecs, theta, _ = _run(lambda b: SAGM(b, rho=RHO, alpha=ALPHA))
    mat, vec = _mean(mats), _mean(vecs)
    g = _grad(mat, vec, theta)
    e = (RHO / (torch.linalg.norm(g) + ETA) - ALPHA) * g
    expected = 0.5 * (g + _grad(mat, vec, theta + e))
    _assert_close(base.seen_grad, expected, atol=1e-12)
    assert torch.equal(base.seen_params, theta)


def test_gsam_direction_closed_form():
    base, mats, vecs, theta, _ = _run(lambda b: GSAM(b, rho=RHO, alpha=ALPHA * 4))
    mat, vec = _mean(mats), _mean(vecs)
    g = _grad(mat, vec, theta)
    g_p = _grad(mat, vec, theta + RHO * g / (torch.linalg.norm(g) + ETA))
    g_perp = g - (g @ g_p) / (g_p @ g_p + ETA) * g_p
    _assert_close(base.seen_grad, g_p - ALPHA * 4 * g_perp, atol=1e-12)
    assert abs(float(g_perp @ g_p)) < 1e-10  # it really is the orthogonal part
    assert torch.equal(base.seen_params, theta)


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_direction_closed_form(align_to):
    make = lambda b: RoGA(b, rho=RHO, alpha=ALPHA, num_domains=K, align_to=align_to)  # noqa: E731
    base, mats, vecs, theta, _ = _run(make, domains=True)
    gs = [_grad(m, v, theta) for m, v in zip(mats, vecs, strict=True)]
    g = _mean(gs)
    terms = []
    for g_i, m, v in zip(gs, mats, vecs, strict=True):
        if align_to == "domain":
            e_i = (RHO / (torch.linalg.norm(g_i) + ETA) - ALPHA) * g_i
        else:
            e_i = RHO * g_i / (torch.linalg.norm(g_i) + ETA) - ALPHA * g
        terms.append(0.5 * (g_i + _grad(m, v, theta + e_i)))
    _assert_close(base.seen_grad, _mean(terms), atol=1e-12)
    assert torch.equal(base.seen_params, theta)


@pytest.mark.parametrize("align_to", ["domain", "global"])
def test_roga_diagnostics(align_to):
    """cos_d{i} = cos(g_i, g_i^p); grad_norm and perturb_norm are means over domains."""
    mats, vecs, theta = _problem()
    params = _params(theta)
    opt = RoGA(torch.optim.SGD(params, lr=0.1), rho=RHO, alpha=ALPHA, align_to=align_to)
    opt.step([_closure(opt, params, [m], [v]) for m, v in zip(mats, vecs, strict=True)])
    gs = [_grad(m, v, theta) for m, v in zip(mats, vecs, strict=True)]
    norms, e_norms = [], []
    for i, (g_i, m, v) in enumerate(zip(gs, mats, vecs, strict=True)):
        if align_to == "domain":
            e_i = (RHO / (torch.linalg.norm(g_i) + ETA) - ALPHA) * g_i
        else:
            e_i = RHO * g_i / (torch.linalg.norm(g_i) + ETA) - ALPHA * _mean(gs)
        g_p = _grad(m, v, theta + e_i)
        cos = g_i @ g_p / (torch.linalg.norm(g_i) * torch.linalg.norm(g_p))
        assert float(opt.stats[f"cos_d{i}"]) == pytest.approx(float(cos), abs=1e-10)
        norms.append(float(torch.linalg.norm(g_i)))
        e_norms.append(float(torch.linalg.norm(e_i)))
    assert float(opt.stats["grad_norm"]) == pytest.approx(_mean(norms), abs=1e-10)
    assert float(opt.stats["perturb_norm"]) == pytest.approx(_mean(e_norms), abs=1e-10)
    assert f"cos_d{K}" not in opt.stats


def test_roga_manual_calls_equal_step():
    """first_step/second_step/final_step by hand give the same update as step(closures)."""
    mats, vecs, theta0 = _problem()
    results = []
    for manual in (False, True):
        params = _params(theta0)
        opt = RoGA(torch.optim.SGD(params, lr=0.1, momentum=0.9), rho=RHO, alpha=ALPHA)
        closures = [_closure(opt, params, [m], [v]) for m, v in zip(mats, vecs, strict=True)]
        if manual:
            for closure in closures:
                closure()
                opt.first_step(zero_grad=True)
                closure()
                opt.second_step(zero_grad=True)
            opt.final_step()
        else:
            opt.step(closures)
        results.append(torch.cat([p.detach() for p in params]))
    assert torch.equal(results[0], results[1])


def test_sam_per_group_rho_with_global_norm():
    """Groups keep their own rho (schedulers set it per group); the norm is over all groups."""
    mats, vecs, theta = _problem()
    params = _params(theta)
    base = RecordingSGD([{"params": [params[0]], "rho": 0.1}, {"params": [params[1]]}], lr=0.1)
    opt = SAM(base, rho=RHO)
    assert [g["rho"] for g in opt.param_groups] == [0.1, RHO]  # setdefault keeps the group's
    opt.step(_closure(opt, params, mats, vecs))
    mat, vec = _mean(mats), _mean(vecs)
    g = _grad(mat, vec, theta)
    scale = torch.tensor([0.1] * 3 + [RHO] * 2, dtype=torch.float64)
    e = scale * g / (torch.linalg.norm(g) + ETA)
    _assert_close(base.seen_grad, _grad(mat, vec, theta + e), atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: SAM(torch.optim.SGD(p, lr=0.1), rho=0.0),
        lambda p: SAGM(torch.optim.SGD(p, lr=0.1), rho=0.0, alpha=0.0),
        lambda p: GSAM(torch.optim.SGD(p, lr=0.1), rho=0.0, alpha=0.0),
    ],
    ids=["SAM", "SAGM", "GSAM"],
)
def test_zero_radius_is_the_base_optimizer(make):
    mats, vecs, theta = _problem()
    params, ref = _params(theta), _params(theta)
    opt, ref_opt = make(params), torch.optim.SGD(ref, lr=0.1)
    for _ in range(3):
        opt.step(_closure(opt, params, mats, vecs))
        _closure(ref_opt, ref, mats, vecs)()
        ref_opt.step()
    for p, q in zip(params, ref, strict=True):
        _assert_close(p, q, atol=1e-12)
