"""SAM, ASAM, SAGM, GSAM and LookSAM: ERM's network and base optimizer behind a two-pass wrapper.

Each forwards the concatenated batch twice per step (θ, then θ + e with BatchNorm running
statistics frozen); LookSAM does so every k-th step and once on the others. The maths is in
``roga_bench.optim`` (DESIGN §4).
"""

from __future__ import annotations

from typing import Any

from roga_bench import optim
from roga_bench._registry import register_algorithm
from roga_bench.algorithms.erm import ERM, Minibatches, concat
from roga_bench.hparams import HParam, choice

__all__ = [
    "SAM",
    "ASAM",
    "SAGM",
    "GSAM",
    "LookSAM",
    "RHO_SPACE",
    "ALPHA_SPACE",
    "LOOK_K_SPACE",
    "LOOK_ALPHA_SPACE",
    "look_hparams",
]

# Random-search spaces of DESIGN §4.
RHO_SPACE = choice(0.01, 0.02, 0.05, 0.1, 0.2)
ALPHA_SPACE = choice(0.0002, 0.0005, 0.001, 0.002, 0.005)
GSAM_ALPHA_SPACE = choice(0.01, 0.05, 0.1, 0.2, 0.4)
# LookSAM (Liu et al., CVPR 2022): the paper runs LookSAM-5 and LookSAM-10; α 0.7 is the value of
# the public implementations, the grid around it is ours (not in the paper).
LOOK_K_SPACE = choice(5, 10)
LOOK_ALPHA_SPACE = choice(0.1, 0.3, 0.5, 0.7, 1.0)


def look_hparams(alpha_name: str) -> dict[str, HParam]:
    """``k`` and the reuse weight (called ``alpha_name``) of the look-ahead-reuse algorithms."""
    return {
        "k": HParam(
            optim.LOOKSAM_K,
            LOOK_K_SPACE,
            minimum=1,
            doc="a full two-pass step every k steps",
            kind=int,
        ),
        alpha_name: HParam(
            optim.LOOKSAM_ALPHA,
            LOOK_ALPHA_SPACE,
            minimum=0.0,
            doc="weight of the reused sharpness component",
            kind=float,
        ),
    }


def rho_hparam(default: float) -> HParam:
    return HParam(default, RHO_SPACE, minimum=0.0, doc="perturbation radius rho", kind=float)


class _TwoPassERM(ERM):
    """ERM whose step goes through ``self.wrapper`` (a ``roga_bench.optim`` wrapper).

    ``self.optimizer`` stays the base optimizer (DESIGN §3); the wrapper shares its param_groups,
    so rho/alpha are checkpointed with ``self.optimizer.state_dict()``.
    """

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        num_domains: int,
        hparams: dict[str, Any],
    ) -> None:
        super().__init__(input_shape, num_classes, num_domains, hparams)
        self.wrapper = self.make_wrapper()

    def make_wrapper(self) -> optim.TwoPassOptimizer:
        raise NotImplementedError

    def update(self, minibatches: Minibatches, unlabeled: Any = None) -> dict[str, float]:
        loss = self.wrapper.step(self.loss_closure(*concat(minibatches)))
        stats = {k: float(v) for k, v in self.wrapper.stats.items()}
        return self.precision.finish({"loss": float(loss), **stats})


@register_algorithm
class SAM(_TwoPassERM):
    """SAM (Foret et al., 2021): d = ∇L(θ + ρ g/‖g‖)."""

    HPARAMS = {"rho": rho_hparam(0.05)}

    def make_wrapper(self) -> optim.TwoPassOptimizer:
        return optim.SAM(self.optimizer, rho=self.hparams["rho"], model=self.network)


@register_algorithm
class ASAM(_TwoPassERM):
    """Adaptive SAM (Kwon et al., 2021): e = ρ T²g/(‖Tg‖+η), T = |w| + 0.01 on weights, 1 on biases.

    The ASAM authors' rule (``optim.SAM(adaptive_on="weights")``); davda54/sam's T = |w| on every
    parameter is ``adaptive_on="all", adaptive_eta=0`` (README "Coming from ...").
    """

    # ASAM's radius lives on a different scale (|θ|-normalised): its paper sweeps 0.05-2.0, so the
    # shared space {0.01..0.2} would never reach the 0.5 default. DESIGN §4 deviation, on purpose.
    HPARAMS = {
        "rho": HParam(
            optim.ASAM_RHO,
            choice(0.1, 0.2, 0.5, 1.0, 2.0),
            minimum=0.0,
            doc="adaptive radius rho",
            kind=float,
        )
    }

    def make_wrapper(self) -> optim.TwoPassOptimizer:
        return optim.SAM(self.optimizer, rho=self.hparams["rho"], adaptive=True, model=self.network)


@register_algorithm
class SAGM(_TwoPassERM):
    """SAGM (Wang et al., 2023): e = (ρ/‖g‖ − α) g, d = ½(g + ∇L(θ+e))."""

    HPARAMS = {
        "rho": rho_hparam(0.05),
        "alpha": HParam(
            0.001, ALPHA_SPACE, minimum=0.0, doc="gradient-matching step alpha", kind=float
        ),
    }

    def make_wrapper(self) -> optim.TwoPassOptimizer:
        hp = self.hparams
        return optim.SAGM(self.optimizer, rho=hp["rho"], alpha=hp["alpha"], model=self.network)


@register_algorithm
class GSAM(_TwoPassERM):
    """GSAM (Zhuang et al., 2022): d = g_p − α g_⊥."""

    HPARAMS = {
        "rho": rho_hparam(0.05),
        # 0.1 as in the RoGA paper's runs (GSAM's own CIFAR default is 0.4).
        "alpha": HParam(
            0.1, GSAM_ALPHA_SPACE, minimum=0.0, doc="surrogate-gap weight alpha", kind=float
        ),
    }

    def make_wrapper(self) -> optim.TwoPassOptimizer:
        hp = self.hparams
        return optim.GSAM(self.optimizer, rho=hp["rho"], alpha=hp["alpha"], model=self.network)


@register_algorithm
class LookSAM(_TwoPassERM):
    """LookSAM (Liu et al., 2022): SAM every k steps, g + α‖g‖ ĝ_v (reused) in between."""

    HPARAMS = {"rho": rho_hparam(0.05), **look_hparams("alpha")}

    def make_wrapper(self) -> optim.TwoPassOptimizer:
        hp = self.hparams
        return optim.LookSAM(
            self.optimizer, rho=hp["rho"], k=int(hp["k"]), alpha=hp["alpha"], model=self.network
        )
