"""The analysis' evaluation batches (issue 20): balanced, spread over videos, described honestly,
on a split ordered by class as real splits are (real frames first, then the fakes)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from roga_bench.analysis import AnalysisConfig, RunSpec, describe, draw_batches
from roga_bench.analysis._measure import measure, prepare

ENVS = ("DF", "F2F", "FS", "NT")
FPV = 4  # frames per video


class _Split:
    """300 real frames then 100 fake ones, 4 frames per video; a frame's pixels are around
    -0.5 (real) or +0.5 (fake), so the class of any image the network sees can be read back."""

    def __init__(self, env: int, n_real: int = 300, n_fake: int = 100) -> None:
        self.labels = [0] * n_real + [1] * n_fake
        self.video_ids = [f"real/{k // FPV}" for k in range(n_real)]
        self.video_ids += [f"{ENVS[env]}/{k // FPV}" for k in range(n_fake)]
        self.paths = [f"/nowhere/frames/{v}/{k}.png" for k, v in enumerate(self.video_ids)]
        self.env = env

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        gen = torch.Generator().manual_seed(1000 * self.env + i)
        sign = 1.0 if self.labels[i] else -1.0
        return 0.5 * sign + 0.1 * torch.randn(3, 8, 8, generator=gen), self.labels[i]


class _Data:
    def __init__(self) -> None:
        self._splits = {i: _Split(i) for i in range(len(ENVS))}

    def split(self, i: int, name: str) -> _Split:
        return self._splits[i]


class _Recorder(nn.Module):
    """A small conv net that records the class make-up of every batch it is called on."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2),
        )  # fmt: skip
        self.seen: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fake = int((x.detach().mean((1, 2, 3)) > 0).sum())
        self.seen.append((len(x) - fake, fake))
        return self.net(x)


CFG = AnalysisConfig(
    rhos=(0.05,),
    batch_size=8,
    n_batches=2,
    flatness_batches=2,
    ascent_steps=1,
    power_iters=2,
    hutchinson_samples=3,
    landscape_points=5,
    landscape_grid=3,
    cam_frames=4,
    cam_score_frames=8,
    tsne_samples=40,
)


def _prepared(cfg: AnalysisConfig = CFG):
    spec = RunSpec("run", "model.pkl", 0, "ERM", "Fake", (0,), 0, ENVS)
    net = _Recorder()
    return prepare(spec, SimpleNamespace(network=net), _Data(), cfg), net


def test_batches_are_balanced_disjoint_and_spread_over_videos():
    split = _Split(0)
    batches = draw_batches(split.labels, split.video_ids, 3, 16, seed=5)
    assert len(batches) == 3
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat)) == 48  # disjoint
    for b in batches:
        labels = [split.labels[i] for i in b]
        assert labels == [0, 1] * 8  # half each, alternating: every prefix is balanced too
    fake_videos = {split.video_ids[i] for i in flat if split.labels[i]}
    assert len(fake_videos) == 24  # 24 fakes from 25 fake videos: one frame per video first
    assert batches == draw_batches(split.labels, split.video_ids, 3, 16, seed=5)
    assert batches != draw_batches(split.labels, split.video_ids, 3, 16, seed=6)


def test_a_short_class_is_filled_by_the_other_and_the_description_says_so():
    labels, videos = [0] * 20 + [1] * 3, [f"v{i}" for i in range(23)]
    (batch,) = draw_batches(labels, videos, 1, 10, seed=0)
    assert sorted(labels[i] for i in batch) == [0] * 7 + [1] * 3
    assert describe([labels[i] for i in batch], [videos[i] for i in batch]) == (
        "10 frames: 7 real, 3 fake, 10 videos"
    )


def test_every_analysis_batch_holds_both_classes_on_a_split_ordered_by_class():
    run, net = _prepared()
    for name in ("sharpness", "alignment", "landscape"):
        net.seen.clear()
        measure(run, name)
        batches = [s for s in net.seen if sum(s) > 1]
        assert batches, name
        for real, fake in batches:
            assert real > 0 and fake > 0, (name, real, fake)
    cam = measure(run, "cam")
    shown = cam.arrays["images_DF"].astype(float).mean((1, 2, 3)) > 127  # the figure's frames
    assert shown.tolist() == [False, True, False, True]
    assert cam.arrays["labels_DF"].tolist() == [0, 1, 0, 1]
    tsne = measure(run, "tsne")
    assert np.bincount(tsne.arrays["labels"]).tolist() == [20, 20]
    assert set(tsne.arrays["domains"][tsne.arrays["labels"] == 1].tolist()) == {0, 1, 2, 3}


def test_the_landscape_at_alpha_zero_is_the_measured_loss_of_its_batch():
    run, net = _prepared()
    res = measure(run, "landscape")
    alphas = res.arrays["alphas_1d"]
    assert (alphas == 0).sum() == 1 and len(alphas) == 5
    for role, envs in (("train", run.train_envs), ("test", [0])):
        x = torch.cat([b.x for i in envs for b in run.batches(i)])
        y = torch.cat([b.y for i in envs for b in run.batches(i)])
        net.eval()
        with torch.no_grad():
            loss = float(F.cross_entropy(net(x), y))
        curve = res.arrays[f"loss_1d_{role}"]
        assert curve[alphas == 0][0] == pytest.approx(loss, rel=1e-5)
        assert res.scalars[f"landscape_loss0[{role}]"] == pytest.approx(loss, rel=1e-5)
        assert not np.allclose(curve, loss)  # the slice moves away from the trained point


def _parse(note: str) -> tuple[int, int, int, int]:
    m = re.fullmatch(r"(\d+) frames: (\d+) real, (\d+) fake, (\d+) videos", note)
    assert m, note
    return tuple(int(g) for g in m.groups())  # type: ignore[return-value]


def test_composition_notes_match_the_drawn_batches():
    from roga_bench.analysis._sweep import batch_notes

    run, _ = _prepared()
    res = measure(run, "sharpness")
    drawn = [b for i in run.envs for b in run.batches(i)]
    assert len(res.batches) == len(drawn) == 8
    for text, batch in zip(res.batches, drawn, strict=True):
        use, _, note = text.partition("|")
        n, real, fake, videos = _parse(note)
        assert n == len(batch.y) == 8
        assert (real, fake) == (int((batch.y == 0).sum()), int((batch.y == 1).sum())) == (4, 4)
        assert videos == len(set(batch.videos)) == 8
        assert use in ("train split", "test split")
    (note,) = batch_notes({("run", "sharpness"): res}, ["sharpness"])
    assert "train split: 8 frames: 4 real, 4 fake, 8 videos (x6)" in note
    assert "test split: 8 frames: 4 real, 4 fake, 8 videos (x2)" in note


def test_flatness_numbers_come_with_their_spread_over_batches():
    run, _ = _prepared()
    res = measure(run, "sharpness").scalars
    for key in ("hessian_top", "hessian_trace", "sharpness@0.05", "loss"):
        assert res[f"{key}_batch_se[train]"] >= 0 and res[f"{key}_batch_se[env=DF]"] >= 0
    assert res["hessian_trace_probe_se[train]"] > 0  # 3 Rademacher probes disagree
    align = measure(run, "alignment").scalars
    assert align["pairwise_cos_batch_se[train]"] >= 0


def test_summary_of_batches_is_the_mean_and_its_standard_error():
    run, _ = _prepared()
    per_env = {
        1: [{"a": 1.0, "t_probe_se": 3.0}, {"a": 3.0, "t_probe_se": 4.0}],
        2: [{"a": 5.0, "t_probe_se": 0.0}, {"a": 7.0, "t_probe_se": 0.0}],
    }
    out = run.summarise(per_env)
    assert out["a[env=F2F]"] == 2.0 and out["a_batch_se[env=F2F]"] == pytest.approx(1.0)
    assert out["a[train]"] == 4.0  # per batch over envs: 3, 5 -> mean 4, s.e. 1
    assert out["a_batch_se[train]"] == pytest.approx(1.0)
    assert out["t_probe_se[env=F2F]"] == pytest.approx(2.5)  # sqrt(9 + 16) / 2
    assert "a[test]" not in out  # no numbers for the held-out env


def test_hutchinson_probes_average_to_the_trace_estimate():
    from roga_bench.analysis import hutchinson_probes, hutchinson_trace

    a = torch.diag(torch.tensor([3.0, 1.0, -2.0], dtype=torch.float64))
    a[0, 1] = a[1, 0] = 0.5
    loss = lambda p: 0.5 * p["w"] @ a @ p["w"]  # noqa: E731
    params = {"w": torch.ones(3, dtype=torch.float64)}
    probes = hutchinson_probes(loss, params, samples=50, seed=2)
    assert len(probes) == 50 and np.std(probes) > 0  # off-diagonal terms make probes differ
    assert np.mean(probes) == pytest.approx(hutchinson_trace(loss, params, 50, seed=2))
    assert np.mean(probes) == pytest.approx(2.0, abs=3 * np.std(probes) / np.sqrt(50))
