"""RoGA, its two ablations (paper Table III rows (b), (c)) and RoGA_Look as DomainBed algorithms.

Each domain's minibatch is forwarded on its own in both passes (per-domain batch statistics);
the maths and the reconstruction of the paper's equations are in ``roga_bench.optim.roga``.
With ``roga_batched`` the K per-domain passes run as one ``torch.func.vmap`` call
(``roga_bench.optim.roga_batched``) with the same result, in fp32 (hparam ``amp`` bf16/fp16
needs the loop path: torch.func's backward fails under autocast).
"""

from __future__ import annotations

from typing import Any

from roga_bench import optim
from roga_bench._registry import register_algorithm
from roga_bench.algorithms.erm import ERM, Minibatches, concat
from roga_bench.algorithms.sharpness import ALPHA_SPACE, look_hparams, rho_hparam
from roga_bench.hparams import HParam

__all__ = ["RoGA", "RoGA_Robust", "RoGA_Align", "RoGA_Look"]


@register_algorithm
class RoGA(ERM):
    """Robust gradient alignment: d = (1/K) Σ_i ½(g_i + ∇L_i(θ + e_i)) (DESIGN §4)."""

    HPARAMS = {
        "rho": rho_hparam(0.1),
        "alpha": HParam(0.001, ALPHA_SPACE, minimum=0.0, doc="alignment weight alpha", kind=float),
        "roga_align_to": HParam(
            "domain", choices=optim.ALIGN_TARGETS, doc="alignment target: g_i or the global g"
        ),
        "roga_batched": HParam(
            False, choices=(True, False), doc="batch the K domain passes with torch.func"
        ),
    }

    def __init__(
        self,
        input_shape: tuple[int, ...],
        num_classes: int,
        num_domains: int,
        hparams: dict[str, Any],
    ) -> None:
        super().__init__(input_shape, num_classes, num_domains, hparams)
        hp = self.hparams
        if hp["amp"] in ("bf16", "fp16") and hp["roga_batched"]:
            # torch.func's batched backward fails under autocast; with amp "auto" it runs fp32
            raise ValueError(f"hparam amp {hp['amp']!r} needs roga_batched false")
        self.wrapper = self.make_wrapper(num_domains)

    def make_wrapper(self, num_domains: int) -> optim.RoGA:
        hp = self.hparams
        return optim.RoGA(
            self.optimizer,
            rho=hp["rho"],
            alpha=hp["alpha"],
            num_domains=num_domains,
            align_to=hp["roga_align_to"],
            model=self.network,
        )

    def update(self, minibatches: Minibatches, unlabeled: Any = None) -> dict[str, float]:
        if self.hparams["roga_batched"]:
            return self._update_batched(minibatches)
        loss = self.wrapper.step([self.loss_closure(x, y) for x, y in minibatches])
        stats = {k: float(v) for k, v in self.wrapper.stats.items()}
        return self.precision.finish({"loss": float(loss), **stats})

    def _update_batched(self, minibatches: Minibatches) -> dict[str, float]:
        # Lazy: torch.func is only needed on this path.
        from roga_bench.optim.roga_batched import batched_roga_update

        if len(minibatches) != self.num_domains:
            raise ValueError(
                f"RoGA got {len(minibatches)} minibatches but num_domains={self.num_domains}"
            )
        groups = self.optimizer.param_groups  # rho/alpha per group, as a scheduler may set them
        self.optimizer.zero_grad()
        stats = batched_roga_update(  # fp32: see __init__
            self.network,
            minibatches,
            groups[0]["rho"],
            groups[0]["alpha"],
            self.wrapper.align_to,
            param_groups=groups,
        )
        self.optimizer.step()
        return {k: float(v) for k, v in stats.items()}


@register_algorithm
class RoGA_Robust(RoGA):  # noqa: N801  (DomainBed-style registered name)
    """Ablation (b): the per-domain robust term only (α = 0)."""

    HPARAMS = {"alpha": HParam(0.0, choices=(0.0,), doc="fixed at 0 (robust term only)")}


@register_algorithm
class RoGA_Align(RoGA):  # noqa: N801
    """Ablation (c): the alignment term only (ρ = 0)."""

    HPARAMS = {"rho": HParam(0.0, choices=(0.0,), doc="fixed at 0 (alignment term only)")}


@register_algorithm
class RoGA_Look(RoGA):  # noqa: N801
    """RoGA every k steps; in between one pass on the concatenated batch plus the reused
    per-domain component: d = g + (α_L/2)‖g‖u (ours; ``roga_bench.optim.roga_look``)."""

    HPARAMS = {
        **look_hparams("look_alpha"),
        "roga_batched": HParam(False, choices=(False,), doc="RoGA_Look runs the loop path"),
    }

    def make_wrapper(self, num_domains: int) -> optim.RoGA:
        hp = self.hparams
        return optim.RoGALook(
            self.optimizer,
            rho=hp["rho"],
            alpha=hp["alpha"],
            k=int(hp["k"]),
            look_alpha=hp["look_alpha"],
            num_domains=num_domains,
            align_to=hp["roga_align_to"],
            model=self.network,
        )

    def update(self, minibatches: Minibatches, unlabeled: Any = None) -> dict[str, float]:
        closures = [self.loss_closure(x, y) for x, y in minibatches]
        loss = self.wrapper.step(closures, joint=self.loss_closure(*concat(minibatches)))
        stats = {k: float(v) for k, v in self.wrapper.stats.items()}
        return self.precision.finish({"loss": float(loss), **stats})
