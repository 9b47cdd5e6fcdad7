"""Run each analysis on one rebuilt run: scalars for the table, arrays for the figures.

Scalars are keyed ``metric[role]`` (``role`` = ``train``: mean over the training envs, ``test``:
the held-out env(s)) and ``metric[env=NAME]`` per environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from roga_bench.analysis import _alignment, _cam, _flatness, _latent
from roga_bench.analysis._runs import RunSpec

__all__ = ["ANALYSES", "AnalysisConfig", "Result", "prepare", "measure"]

ANALYSES = ("sharpness", "alignment", "cam", "tsne", "landscape")
# bumped when an analysis' code changes what it computes, so cached results are not reused
VERSIONS = {"sharpness": 1, "alignment": 1, "cam": 3, "tsne": 1, "landscape": 1}


@dataclass(frozen=True)
class AnalysisConfig:
    """How much each analysis computes (every field but ``device`` is part of the cache key)."""

    rhos: tuple[float, ...] = (0.05,)  # the sweep's ρ values: sharpness radius, alignment ρ = max
    batch_size: int = 32  # samples per fixed evaluation batch
    n_batches: int = 2  # fixed evaluation batches per env (alignment: averaged over them)
    flatness_batches: int = 1  # of those, how many sharpness/Hessian use (at once): the cost
    ascent_steps: int = 2  # projected ascent steps of worst-case sharpness
    power_iters: int = 8  # power iterations (Hessian top eigenvalue)
    hutchinson_samples: int = 4  # Rademacher probes (Hessian trace)
    landscape_points: int = 11  # 1-D slice points in [-radius, radius]
    landscape_grid: int = 7  # 2-D slice: grid x grid points
    landscape_radius: float = 1.0
    cam_frames: int = 6  # frames per figure grid
    cam_score_frames: int = 64  # fake frames scored for localisation
    tsne_samples: int = 1000  # at most this many test frames (the paper: 5,000)
    seed: int = 0
    device: str = "cpu"

    def key(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "device"}


@dataclass
class Result:
    """What one analysis of one run produced."""

    scalars: dict[str, float]
    arrays: dict[str, np.ndarray]
    notes: list[str]
    seconds: float


def _sample(n_total: int, n: int, seed: int) -> list[int]:
    gen = torch.Generator().manual_seed(seed)
    return sorted(torch.randperm(n_total, generator=gen)[: min(n, n_total)].tolist())


def _stack(split: Any, idx: list[int], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    items = [split[i] for i in idx]
    x = torch.stack([t for t, _ in items]).to(device)
    y = torch.tensor([int(lab) for _, lab in items], device=device)
    return x, y


class _Run:
    """A rebuilt run with its fixed evaluation data (built once, shared by the analyses)."""

    def __init__(self, spec: RunSpec, algorithm: Any, ds: Any, cfg: AnalysisConfig) -> None:
        self.spec, self.ds, self.cfg = spec, ds, cfg
        self.network = algorithm.network.to(cfg.device).eval()
        self.envs = list(range(len(spec.environments)))
        self.train_envs = [i for i in self.envs if i not in spec.test_envs]
        self._batches: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def split_name(self, i: int) -> str:
        return "test" if i in self.spec.test_envs else "train"

    def batch(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed evaluation samples of env i: train split of a training env, test split of
        a held-out env, ``n_batches * batch_size`` frames drawn with the seed."""
        if i not in self._batches:
            split = self.ds.split(i, self.split_name(i))
            n = self.cfg.n_batches * self.cfg.batch_size
            self._batches[i] = _stack(
                split, _sample(len(split), n, self.cfg.seed + i), self.cfg.device
            )
        return self._batches[i]

    def env(self, i: int) -> str:
        return self.spec.environments[i]

    def roles(self, per_env: dict[int, dict[str, float]]) -> dict[str, float]:
        """Per-env scalars plus their means over the training envs and over the test envs."""
        out: dict[str, float] = {}
        for i, vals in per_env.items():
            out.update({f"{k}[env={self.env(i)}]": v for k, v in vals.items()})
        for role, members in (("train", self.train_envs), ("test", list(self.spec.test_envs))):
            have = [per_env[i] for i in members if i in per_env]
            for k in have[0] if have else {}:
                out[f"{k}[{role}]"] = float(np.mean([v[k] for v in have]))
        return out


def _sharpness(run: _Run) -> Result:
    per_env = {}
    n = run.cfg.flatness_batches * run.cfg.batch_size
    for i in run.envs:
        x, y = run.batch(i)
        loss_fn = _alignment.network_loss(run.network, x[:n], y[:n])
        params = _alignment.network_params(run.network)
        vals = {"loss": float(loss_fn(params).detach())}
        for rho in run.cfg.rhos:
            steps = run.cfg.ascent_steps
            vals[f"sharpness@{rho:g}"] = _flatness.worst_case_sharpness(loss_fn, params, rho, steps)
            vals[f"asharpness@{rho:g}"] = _flatness.worst_case_sharpness(
                loss_fn, params, rho, steps, adaptive=True
            )
        vals["hessian_top"] = _flatness.hessian_top_eigenvalue(
            loss_fn, params, run.cfg.power_iters, tol=1e-3, seed=run.cfg.seed
        )
        vals["hessian_trace"] = _flatness.hutchinson_trace(
            loss_fn, params, run.cfg.hutchinson_samples, seed=run.cfg.seed
        )
        per_env[i] = vals
    return Result(run.roles(per_env), {}, [], 0.0)


def _alignment_of(run: _Run) -> Result:
    if len(run.train_envs) < 2:
        return Result({}, {}, ["alignment needs two or more training envs"], 0.0)
    bs = run.cfg.batch_size
    batches = []
    for b in range(run.cfg.n_batches):
        batch = []
        for i in run.train_envs:
            x, y = run.batch(i)
            batch.append((x[b * bs : (b + 1) * bs], y[b * bs : (b + 1) * bs]))
        if all(len(x) for x, _ in batch):
            batches.append(batch)
    res = _alignment.gradient_alignment(run.network, batches, max(run.cfg.rhos))
    names = [run.env(i) for i in run.train_envs]
    scalars = {
        "pairwise_cos[train]": res["pairwise_cos"],
        "perturbed_cos[train]": res["perturbed_cos"],
    }
    for k, v in res.items():
        parts = k.split("_")
        if parts[0] == "perturbed" and parts[1].isdigit():
            scalars[f"perturbed_cos[env={names[int(parts[1])]}]"] = v
        elif parts[0] == "pair":
            scalars[f"pairwise_cos[{names[int(parts[1])]}-{names[int(parts[2])]}]"] = v
    return Result(scalars, {}, [], 0.0)


def _landscape(run: _Run) -> Result:
    params = _alignment.network_params(run.network)
    d1 = _flatness.filter_normalized_direction(params, run.cfg.seed)
    d2 = _flatness.filter_normalized_direction(params, run.cfg.seed + 1)
    r = run.cfg.landscape_radius
    line = np.linspace(-r, r, run.cfg.landscape_points)
    grid = np.linspace(-r, r, run.cfg.landscape_grid)
    arrays: dict[str, np.ndarray] = {"alphas_1d": line, "alphas_2d": grid}
    for role, members in (("train", run.train_envs), ("test", list(run.spec.test_envs))):
        if not members:
            continue
        bs = run.cfg.batch_size  # the first batch of each env: a slice is a picture, not a number
        x = torch.cat([run.batch(i)[0][:bs] for i in members])
        y = torch.cat([run.batch(i)[1][:bs] for i in members])
        loss_fn = _alignment.network_loss(run.network, x, y)
        arrays[f"loss_1d_{role}"] = np.asarray(_flatness.landscape_1d(loss_fn, params, d1, line))
        if role == "train":
            arrays["loss_2d_train"] = np.asarray(
                _flatness.landscape_2d(loss_fn, params, d1, d2, grid)
            )
    return Result({}, arrays, [], 0.0)


def _cams(run: _Run) -> Result:
    from roga_bench.datasets import split_mask

    scalars: dict[str, float] = {}
    arrays: dict[str, np.ndarray] = {}
    notes: list[str] = []
    per_env: dict[str, list[float]] = {}
    for t in run.spec.test_envs:
        split = run.ds.split(t, "test")
        fakes = [i for i, lab in enumerate(split.labels) if int(lab) == 1]
        pick = [fakes[j] for j in _sample(len(fakes), run.cfg.cam_score_frames, run.cfg.seed)]
        if not pick:
            notes.append(f"{run.env(t)}: no fake test frames for CAM")
            continue
        x, _ = _stack(split, pick, run.cfg.device)
        size = x.shape[-1]
        masks = [split_mask(split, i, size) for i in pick]
        has_masks = any(m is not None for m in masks)
        if not has_masks:
            notes.append(f"{run.env(t)}: the dataset has no manipulation masks (no localisation)")
        for method in _cam.CAM_METHODS:
            cams = _cam.compute_cams(run.network, x, method)
            if has_masks:
                score = _cam.localization_scores(cams, masks)
                tag = "cam" if method == "gradcam" else "campp"
                scalars[f"{tag}_energy[env={run.env(t)}]"] = score["energy_in_mask"]
                scalars[f"{tag}_pointing[env={run.env(t)}]"] = score["pointing_game"]
                for key in ("energy", "pointing"):  # [test]: the mean over the test envs
                    per_env.setdefault(f"{tag}_{key}[test]", []).append(
                        score["energy_in_mask" if key == "energy" else "pointing_game"]
                    )
            n = run.cfg.cam_frames
            arrays[f"{method}_{run.env(t)}"] = cams[:n].astype(np.float16)
        arrays[f"images_{run.env(t)}"] = (
            _cam.to_numpy_images(x[: run.cfg.cam_frames]) * 255
        ).astype(np.uint8)
        if has_masks:
            arrays[f"masks_{run.env(t)}"] = np.stack(
                [m if m is not None else np.zeros((size, size), np.float32) for m in masks]
            )[: run.cfg.cam_frames].astype(np.float16)
    scalars.update({k: float(np.mean(v)) for k, v in per_env.items()})
    return Result(scalars, arrays, notes, 0.0)


def _tsne(run: _Run) -> Result:
    seen: set[str] = set()
    rows: list[
        tuple[int, int, int]
    ] = []  # (env, index, label); real frames shared across envs once
    for i in run.envs:
        split = run.ds.split(i, "test")
        for j, (path, lab) in enumerate(zip(split.paths, split.labels, strict=True)):
            if int(lab) == 0:
                if path in seen:
                    continue
                seen.add(path)
            rows.append((i, j, int(lab)))
    rows = [rows[k] for k in _sample(len(rows), run.cfg.tsne_samples, run.cfg.seed)]
    feats = []
    for i in run.envs:
        idx = [j for e, j, _ in rows if e == i]
        if idx:
            x, _ = _stack(run.ds.split(i, "test"), idx, run.cfg.device)
            feats.append(_latent.penultimate_features(run.network, x))
    order = sorted(range(len(rows)), key=lambda k: rows[k][0])  # feature rows come env by env
    rows = [rows[k] for k in order]
    features = np.concatenate(feats)
    labels = [lab for _, _, lab in rows]
    domains = [e for e, _, _ in rows]
    scores = _latent.latent_scores(features, labels, domains, seed=run.cfg.seed)
    emb = _latent.tsne_embedding(features, seed=run.cfg.seed)
    arrays = {"tsne": emb, "labels": np.asarray(labels), "domains": np.asarray(domains)}
    scalars = {f"{k}[all]": v for k, v in scores.items()}
    return Result(scalars, arrays, [], 0.0)


_ANALYSES: dict[str, Callable[[_Run], Result]] = {
    "sharpness": _sharpness,
    "alignment": _alignment_of,
    "landscape": _landscape,
    "cam": _cams,
    "tsne": _tsne,
}


def prepare(spec: RunSpec, algorithm: Any, ds: Any, cfg: AnalysisConfig) -> _Run:
    """A rebuilt run whose evaluation batches are loaded once for all its analyses."""
    return _Run(spec, algorithm, ds, cfg)


def measure(run: _Run, analysis: str) -> Result:
    """Run one analysis on one prepared run (deterministic for ``cfg.seed``)."""
    torch.manual_seed(run.cfg.seed)
    start = time.perf_counter()
    result = _ANALYSES[analysis](run)
    result.seconds = time.perf_counter() - start
    return result
