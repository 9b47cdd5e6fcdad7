"""Figures of the analysis (PNG + PDF): landscapes, CAM grids, t-SNE plots.

Each figure shows the first trial of every (algorithm, test env); ``results`` maps
``(algorithm, test env label)`` to that run's arrays per analysis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from roga_bench.reporting.plotting import pyplot as _plt
from roga_bench.reporting.plotting import save_figure

__all__ = ["landscape_figures", "cam_figures", "tsne_figures"]

Arrays = Mapping[tuple[str, str], Mapping[str, np.ndarray]]


GID_ENVS = ("DF", "F2F", "FS", "NT")


def env_title(env: str) -> str:
    """``GID-DF`` for a held-out manipulation; a cross-dataset run's targets as they are."""
    return f"GID-{env}" if env in GID_ENVS else env


def _save(fig, out: Path, name: str) -> list[Path]:
    return save_figure(fig, out, name, dpi=120)


def _axes(plt, rows: int, cols: int, size: float = 2.6):
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    return fig, axes


def _slice(ax, arr: Mapping[str, np.ndarray] | None, alg: str, k: int) -> bool:
    """One algorithm's 1-D curves (solid train, dashed held-out) and a dot at α = 0; True when
    α = 0 is not the lowest point of the training curve."""
    if not arr or "alphas_1d" not in arr:
        return False
    alphas, train, color = arr["alphas_1d"], arr["loss_1d_train"], f"C{k}"
    ax.plot(alphas, train, color=color, label=alg)
    zero = int(np.argmin(np.abs(alphas)))
    ax.plot([alphas[zero]], [train[zero]], "o", color=color, ms=3)
    if "loss_1d_test" in arr:
        ax.plot(alphas, arr["loss_1d_test"], color=color, ls="--")
    return bool(train[zero] > train.min())


def landscape_figures(data: Arrays, algs: Sequence[str], envs: Sequence[str], out: Path):
    """``landscape_1d``: one panel per test env, one curve per algorithm (solid: training envs,
    dashed: held-out env); ``landscape_2d``: contours of the training loss, algorithm x env."""
    plt = _plt()
    paths = []
    fig, axes = _axes(plt, 1, len(envs), 3.2)
    for c, env in enumerate(envs):
        ax = axes[0][c]
        off = [alg for k, alg in enumerate(algs) if _slice(ax, data.get((alg, env)), alg, k)]
        ax.set_title(env_title(env))
        ax.set_xlabel("α (filter-normalised direction)")
        if off:  # the figure says where the trained point is not the slice's minimum
            text = "α=0 not the train minimum:\n" + ", ".join(off)
            ax.text(0.02, 0.98, text, transform=ax.transAxes, fontsize=6, va="top")
    axes[0][0].set_ylabel("loss (solid: train envs, dashed: held-out)")
    axes[0][-1].legend(fontsize=7)
    paths += _save(fig, out, "landscape_1d")
    fig, axes = _axes(plt, len(algs), len(envs))
    for r, alg in enumerate(algs):
        for c, env in enumerate(envs):
            ax = axes[r][c]
            arr = data.get((alg, env))
            if arr and "loss_2d_train" in arr:
                g = arr["alphas_2d"]
                cs = ax.contour(g, g, arr["loss_2d_train"], levels=12, cmap="viridis")
                ax.clabel(cs, fontsize=5)
            ax.set_title(f"{alg} {env_title(env)}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    paths += _save(fig, out, "landscape_2d")
    return paths


def cam_figures(data: Arrays, algs: Sequence[str], envs: Sequence[str], out: Path, method: str):
    """One grid per test env: frame (real and fake alternating), its mask (real: empty), then one
    row of CAM overlays per algorithm."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    plt = _plt()
    paths = []
    # a cross-dataset run's label joins its test envs ("SynthCDF+SynthUADFV"): one grid per env
    for label, env in [(lb, e) for lb in envs for e in lb.split("+")]:
        first = next((data[(a, label)] for a in algs if (a, label) in data), None)
        if first is None or f"images_{env}" not in first:
            continue
        images = first[f"images_{env}"].astype(np.float32) / 255.0
        masks = first.get(f"masks_{env}")
        n = len(images)
        rows = ["frame"] + (["mask"] if masks is not None else []) + list(algs)
        fig, axes = _axes(plt, len(rows), n, 1.4)
        labels = first.get(f"labels_{env}")
        for c in range(n):
            axes[0][c].imshow(images[c])
            if labels is not None:
                axes[0][c].set_title("fake" if int(labels[c]) else "real", fontsize=7)
            if masks is not None:
                axes[1][c].imshow(masks[c].astype(np.float32), cmap="gray", vmin=0, vmax=1)
        for r, alg in enumerate(algs, start=len(rows) - len(algs)):
            arr = data.get((alg, label), {})
            cams = arr.get(f"{method}_{env}")
            for c in range(n):
                if cams is not None and c < len(cams):
                    cam = cams[c].astype(np.float32)
                    axes[r][c].imshow(show_cam_on_image(images[c], cam, use_rgb=True))
        for r, label in enumerate(rows):
            axes[r][0].set_ylabel(label, fontsize=7)
            for ax in axes[r]:
                ax.set_xticks([])
                ax.set_yticks([])
        fig.suptitle(f"{method} on {env_title(env)} test frames (target: fake)", fontsize=9)
        paths += _save(fig, out, f"cam_{method.replace('++', 'pp')}_{env}")
    return paths


def tsne_figures(
    data: Arrays, algs: Sequence[str], envs: Sequence[str], names: Sequence[str], out: Path
):
    """``tsne``: algorithm x test env panels, left coloured real/fake, right by domain."""
    plt = _plt()
    fig, axes = _axes(plt, len(algs), 2 * len(envs), 2.2)
    for r, alg in enumerate(algs):
        for c, env in enumerate(envs):
            arr = data.get((alg, env))
            ax_l, ax_d = axes[r][2 * c], axes[r][2 * c + 1]
            if arr and "tsne" in arr:
                emb, lab, dom = arr["tsne"], arr["labels"], arr["domains"]
                ax_l.scatter(*emb[lab == 1].T, s=2, color="C3", alpha=0.6, label="fake")
                ax_l.scatter(*emb[lab == 0].T, s=2, color="C0", alpha=0.6, label="real")
                for d in np.unique(dom[lab == 1]):
                    pts = emb[(lab == 1) & (dom == d)]
                    name = names[int(d)] if int(d) < len(names) else str(d)
                    ax_d.scatter(*pts.T, s=2, label=name, color=f"C{int(d)}")
                ax_d.scatter(*emb[lab == 0].T, s=2, color="lightgrey", label="real")
            ax_l.set_title(f"{alg} {env_title(env)}: real/fake", fontsize=7)
            ax_d.set_title(f"{alg} {env_title(env)}: domain", fontsize=7)
            for ax in (ax_l, ax_d):
                ax.set_xticks([])
                ax.set_yticks([])
    axes[0][0].legend(fontsize=5, markerscale=3)
    axes[0][1].legend(fontsize=5, markerscale=3)
    return _save(fig, out, "tsne")
