"""Run each analysis on one rebuilt run: scalars for the table, arrays for the figures.

Scalars are keyed ``metric[role]`` (``role`` = ``train``: mean over the training envs, ``test``:
the held-out env(s)) and ``metric[env=NAME]`` per environment. Flatness and alignment are
measured on each evaluation batch separately; a scalar is the mean over the batches and
``metric_batch_se[...]`` its standard error over them (``metric_probe_se``: Hutchinson's s.e.
over its probes). Every batch holds real and fake frames (``_samples``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from roga_bench.analysis import _alignment, _cam, _flatness, _latent
from roga_bench.analysis._config import AnalysisConfig, Result
from roga_bench.analysis._prepared import (
    BATCH_SE,
    PROBE_SE,
    Batch,
    PreparedRun,
    concat,
    split_videos,
    stack,
)
from roga_bench.analysis._runs import RunSpec
from roga_bench.analysis._samples import describe, draw_batches, spread_over_videos

__all__ = [
    "ANALYSES",
    "VERSIONS",
    "AnalysisConfig",
    "Result",
    "prepare",
    "measure",
    "symmetric_alphas",
]

ANALYSES = ("sharpness", "alignment", "cam", "tsne", "landscape")
# bumped when an analysis' code changes what it computes, so cached results are not reused
VERSIONS = {"sharpness": 2, "alignment": 2, "cam": 4, "tsne": 2, "landscape": 2}


def _se(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan


def _flatness_of(run: PreparedRun, batch: Batch, b: int) -> dict[str, float]:
    """Loss, sharpness at every ρ, Hessian top eigenvalue and trace on one batch."""
    cfg = run.cfg
    loss_fn = _alignment.network_loss(run.network, batch.x, batch.y)
    params = _alignment.network_params(run.network)
    vals = {"loss": float(loss_fn(params).detach())}
    for rho in cfg.rhos:
        vals[f"sharpness@{rho:g}"] = _flatness.worst_case_sharpness(
            loss_fn, params, rho, cfg.ascent_steps
        )
        vals[f"asharpness@{rho:g}"] = _flatness.worst_case_sharpness(
            loss_fn, params, rho, cfg.ascent_steps, adaptive=True
        )
    seed = cfg.seed + b  # independent probes per batch
    vals["hessian_top"] = _flatness.hessian_top_eigenvalue(
        loss_fn, params, cfg.power_iters, tol=1e-3, seed=seed
    )
    probes = _flatness.hutchinson_probes(loss_fn, params, cfg.hutchinson_samples, seed=seed)
    vals["hessian_trace"] = float(np.mean(probes))
    vals[f"hessian_trace{PROBE_SE}"] = _se(probes)
    return vals


def _sharpness(run: PreparedRun) -> Result:
    per_env, used = {}, []
    for i in run.envs:
        batches = run.batches(i)[: run.cfg.flatness_batches]
        per_env[i] = [_flatness_of(run, batch, b) for b, batch in enumerate(batches)]
        used += [f"{run.split_name(i)} split|{batch.note}" for batch in batches]
    return Result(run.summarise(per_env), {}, [], 0.0, used)


def _alignment_keys(res: dict[str, float], names: list[str]) -> dict[str, float]:
    """``gradient_alignment``'s keys -> table keys (env names instead of indices)."""
    out = {"pairwise_cos[train]": res["pairwise_cos"], "perturbed_cos[train]": res["perturbed_cos"]}
    for k, v in res.items():
        parts = k.split("_")
        if parts[0] == "perturbed" and parts[1].isdigit():
            out[f"perturbed_cos[env={names[int(parts[1])]}]"] = v
        elif parts[0] == "pair":
            out[f"pairwise_cos[{names[int(parts[1])]}-{names[int(parts[2])]}]"] = v
    return out


def _alignment_of(run: PreparedRun) -> Result:
    if len(run.train_envs) < 2:
        return Result({}, {}, ["alignment needs two or more training envs"], 0.0)
    n = min(len(run.batches(i)) for i in run.train_envs)
    names = [run.env(i) for i in run.train_envs]
    per_batch, used = [], []
    for b in range(n):
        batch = [run.batches(i)[b] for i in run.train_envs]
        res = _alignment.gradient_alignment(
            run.network, [[(t.x, t.y) for t in batch]], max(run.cfg.rhos)
        )
        per_batch.append(_alignment_keys(res, names))
        used += [f"train split|{t.note}" for t in batch]
    scalars = {k: float(np.mean([p[k] for p in per_batch])) for k in per_batch[0]}
    for key in ("pairwise_cos", "perturbed_cos"):
        scalars[f"{key}{BATCH_SE}[train]"] = _se([p[f"{key}[train]"] for p in per_batch])
    return Result(scalars, {}, [], 0.0, used)


def symmetric_alphas(radius: float, points: int) -> np.ndarray:
    """``points`` (made odd) evenly spaced values in [-radius, radius] with 0 exactly among them."""
    half = max(1, points // 2)
    pos = np.linspace(radius / half, radius, half)
    return np.concatenate([-pos[::-1], [0.0], pos])


@torch.no_grad()
def measured_loss(network: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The network's mean cross-entropy on ``(x, y)`` by a plain forward pass in eval mode."""
    network.eval()
    return float(F.cross_entropy(network(x), y))


def _landscape(run: PreparedRun) -> Result:
    params = _alignment.network_params(run.network)
    d1 = _flatness.filter_normalized_direction(params, run.cfg.seed)
    d2 = _flatness.filter_normalized_direction(params, run.cfg.seed + 1)
    line = symmetric_alphas(run.cfg.landscape_radius, run.cfg.landscape_points)
    grid = symmetric_alphas(run.cfg.landscape_radius, run.cfg.landscape_grid)
    arrays: dict[str, np.ndarray] = {"alphas_1d": line, "alphas_2d": grid}
    scalars: dict[str, float] = {}
    used: list[str] = []
    for role, members in (("train", run.train_envs), ("test", list(run.spec.test_envs))):
        if not members:
            continue
        data = concat([b for i in members for b in run.batches(i)])  # every batch of the envs
        loss_fn = _alignment.network_loss(run.network, data.x, data.y)
        curve = np.asarray(_flatness.landscape_1d(loss_fn, params, d1, line))
        arrays[f"loss_1d_{role}"] = curve
        scalars[f"landscape_loss0[{role}]"] = measured_loss(run.network, data.x, data.y)
        scalars[f"landscape_argmin[{role}]"] = float(line[int(np.argmin(curve))])
        used.append(f"{role} envs' slice|{data.note}")
        if role == "train":
            arrays["loss_2d_train"] = np.asarray(
                _flatness.landscape_2d(loss_fn, params, d1, d2, grid)
            )
    return Result(scalars, arrays, [], 0.0, used)


def _cam_scores(run: PreparedRun, t: int, out: Result) -> list[float] | None:
    """Localisation of up to ``cam_score_frames`` fake test frames of env t, spread over videos
    (fakes only: real frames have no mask); ``[energy, pointing]`` per method, or None."""
    from roga_bench.datasets import load_mask

    split = run.ds.split(t, "test")
    videos = split_videos(split)
    fakes = [i for i, lab in enumerate(split.labels) if int(lab) == 1]
    rng = np.random.default_rng(run.cfg.seed + t)
    pick = spread_over_videos(fakes, videos, run.cfg.cam_score_frames, rng)
    if not pick:
        out.notes.append(f"{run.env(t)}: no fake test frames for CAM")
        return None
    x, y = stack(split, pick, run.cfg.device)
    out.batches.append(
        f"localisation (fakes: masks)|{describe(y.tolist(), [videos[i] for i in pick])}"
    )
    masks = [load_mask(split.paths[i], x.shape[-1]) for i in pick]
    if not any(m is not None for m in masks):
        out.notes.append(f"{run.env(t)}: the dataset has no manipulation masks (no localisation)")
        return None
    scores = []
    for method in _cam.CAM_METHODS:
        score = _cam.localization_scores(_cam.compute_cams(run.network, x, method), masks)
        scores += [score["energy_in_mask"], score["pointing_game"]]
    return scores


def _cam_grid(run: PreparedRun, t: int, out: Result) -> None:
    """The figure's frames of env t: ``cam_frames`` test frames, real and fake alternating."""
    from roga_bench.datasets import load_mask

    split = run.ds.split(t, "test")
    videos = split_videos(split)
    idx = draw_batches(split.labels, videos, 1, run.cfg.cam_frames, run.cfg.seed + t)[0]
    x, y = stack(split, idx, run.cfg.device)
    out.batches.append(f"figure|{describe(y.tolist(), [videos[i] for i in idx])}")
    env, size = run.env(t), x.shape[-1]
    for method in _cam.CAM_METHODS:
        out.arrays[f"{method}_{env}"] = _cam.compute_cams(run.network, x, method).astype(np.float16)
    out.arrays[f"images_{env}"] = (_cam.to_numpy_images(x) * 255).astype(np.uint8)
    out.arrays[f"labels_{env}"] = y.cpu().numpy().astype(np.int8)
    masks = [load_mask(split.paths[i], size) for i in idx]
    if any(m is not None for m in masks):
        zero = np.zeros((size, size), np.float32)
        out.arrays[f"masks_{env}"] = np.stack([zero if m is None else m for m in masks]).astype(
            np.float16
        )


def _cams(run: PreparedRun) -> Result:
    out = Result({}, {}, [], 0.0)
    keys = ("cam_energy", "cam_pointing", "campp_energy", "campp_pointing")
    per_env: dict[str, list[float]] = {}
    for t in run.spec.test_envs:
        scores = _cam_scores(run, t, out)
        if scores is not None:
            for key, value in zip(keys, scores, strict=True):
                out.scalars[f"{key}[env={run.env(t)}]"] = value
                per_env.setdefault(f"{key}[test]", []).append(value)
        _cam_grid(run, t, out)
    out.scalars.update({k: float(np.mean(v)) for k, v in per_env.items()})  # mean over test envs
    return out


def _tsne_rows(run: PreparedRun) -> list[tuple[int, int, int, str]]:
    """(env, frame index, label, video) of every test frame; real frames shared by envs once."""
    seen: set[str] = set()
    rows = []
    for i in run.envs:
        split = run.ds.split(i, "test")
        videos = split_videos(split)
        for j, (path, lab) in enumerate(zip(split.paths, split.labels, strict=True)):
            if int(lab) == 0:
                if path in seen:
                    continue
                seen.add(path)
            rows.append((i, j, int(lab), videos[j]))
    return rows


def _tsne(run: PreparedRun) -> Result:
    rows = _tsne_rows(run)
    labels, videos = [r[2] for r in rows], [r[3] for r in rows]
    pick = draw_batches(labels, videos, 1, run.cfg.tsne_samples, run.cfg.seed)[0]
    rows = sorted((rows[k] for k in pick), key=lambda r: r[0])  # feature rows come env by env
    feats = []
    for i in run.envs:
        idx = [j for e, j, _, _ in rows if e == i]
        if idx:
            x, _ = stack(run.ds.split(i, "test"), idx, run.cfg.device)
            feats.append(_latent.penultimate_features(run.network, x))
    features = np.concatenate(feats)
    labels = [lab for _, _, lab, _ in rows]
    domains = [e for e, _, _, _ in rows]
    scores = _latent.latent_scores(features, labels, domains, seed=run.cfg.seed)
    emb = _latent.tsne_embedding(features, seed=run.cfg.seed)
    arrays = {"tsne": emb, "labels": np.asarray(labels), "domains": np.asarray(domains)}
    note = describe(labels, [v for _, _, _, v in rows])
    return Result(
        {f"{k}[all]": v for k, v in scores.items()}, arrays, [], 0.0, [f"test frames|{note}"]
    )


_ANALYSES: dict[str, Callable[[PreparedRun], Result]] = {
    "sharpness": _sharpness,
    "alignment": _alignment_of,
    "landscape": _landscape,
    "cam": _cams,
    "tsne": _tsne,
}


def prepare(spec: RunSpec, algorithm: Any, ds: Any, cfg: AnalysisConfig) -> PreparedRun:
    """A rebuilt run whose evaluation batches are loaded once for all its analyses."""
    return PreparedRun(spec, algorithm, ds, cfg)


def measure(run: PreparedRun, analysis: str) -> Result:
    """Run one analysis on one prepared run (deterministic for ``cfg.seed``)."""
    torch.manual_seed(run.cfg.seed)
    start = time.perf_counter()
    result = _ANALYSES[analysis](run)
    result.seconds = time.perf_counter() - start
    return result
