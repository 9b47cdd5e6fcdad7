"""One direct test per bug of issue 28's mutation audit that no test caught (9) or that only golden
files the code writes itself caught (2). Each docstring names the mutation; applying it makes
that test fail (checked by hand, listed in the branch's report).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from scipy import stats

from roga_bench.analysis import gradient_alignment
from roga_bench.datasets import read_videos
from roga_bench.reporting import build_tables, load_records, reproduce_report, select
from roga_bench.reporting.testing import checkpoint, write_run
from roga_bench.stats import holm, paired_test
from roga_bench.sweep import Job, job_hash, make_jobs

CROSS = ["DF", "F2F", "FS", "NT", "CDF-v1", "CDF-v2", "UADFV", "DFDC", "DFDCP"]


# ------------------------------------------------------------------ 1. pairing across held-out sets


def _cross_run(root, algorithm, trial, auc, test_envs=(4, 5, 6, 7, 8)):
    def value(key):
        env, split, _ = key.split("_", 2)
        return auc if (split == "in" and int(env[3:]) in test_envs) else 0.7

    ck = {**checkpoint(0, 9, value), "dataset_environments": CROSS}
    write_run(root, dataset="FFppCrossDataset", algorithm=algorithm, test_envs=list(test_envs),
              trial_seed=trial, checkpoints=[ck])  # fmt: skip


def test_runs_of_different_held_out_sets_are_never_paired(tmp_path):
    """Mutation: drop the "same held-out set" condition in ``reporting/_compare.pair_units``
    (``if unit != ...units...: continue``). Trial 2's RoGA run holds out UADFV alone, its ERM
    run all five targets: they are not a pair, so the test has n = 2 and names the run."""
    for t, (erm, roga) in enumerate([(0.60, 0.62), (0.70, 0.75), (0.65, 0.95)]):
        _cross_run(tmp_path, "ERM", t, erm)
        _cross_run(tmp_path, "RoGA", t, roga, test_envs=(6,) if t == 2 else (4, 5, 6, 7, 8))
    tables, _ = build_tables(tmp_path, "I", paper_dir=tmp_path / "none")
    table = tables["I"]
    test = table.significance["RoGA"]
    assert test.n == 2 and test.diff == pytest.approx((0.02 + 0.05) / 2)
    col = table.column_tests["RoGA"]
    assert col[next(c for c in col if "UADFV" in c)].n == 2  # not 3: trial 2 stays unpaired
    reasons = " ".join(why for _, why in table.excluded)
    assert "held-out set [6] differs from its ERM run's" in reasons


# ------------------------------------------------------------------ 2. the t / Wilcoxon switch


def test_the_switch_to_wilcoxon_is_at_exactly_six_nonzero_pairs():
    """Mutations: ``>= MIN_WILCOXON_PAIRS`` -> ``>``, MIN_WILCOXON_PAIRS 6 -> 5 or 7, the count
    over all pairs instead of the non-zero ones."""
    six = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]
    t = paired_test(six, [0.0] * 6)
    assert (t.test, t.n) == ("Wilcoxon", 6)
    assert t.p == pytest.approx(2 / 2**6)  # exact: every rank on one side
    five = paired_test(six[:5], [0.0] * 5)
    assert (five.test, five.n) == ("paired t", 5)
    assert five.p == pytest.approx(stats.ttest_1samp(six[:5], 0).pvalue)
    # six pairs, one of them zero: five non-zero, so still the paired t-test on all six
    z = paired_test([0.0, *six[:5]], [0.0] * 6)
    assert (z.test, z.n) == ("paired t", 6)
    assert z.p == pytest.approx(stats.ttest_1samp([0.0, *six[:5]], 0).pvalue)


# ------------------------------------------------------------------ 3. Holm's cap


def test_holm_is_capped_at_one():
    """Mutation: ``min(1, (m - j + 1) p)`` without the ``min`` (statsmodels caps; a hand-rolled
    Holm must too)."""
    assert holm([0.4, 0.6, 0.9]) == [1.0, 1.0, 1.0]  # 1.2, 1.2 (monotone), 0.9 -> capped
    assert holm([0.01, 0.3, 0.8]) == pytest.approx([0.03, 0.6, 0.8])
    assert max(holm([0.5] * 7)) == 1.0


# ------------------------------------------------------------------ 4. keep in the job hash


def test_a_relaunch_with_another_keep_finds_its_finished_jobs(tmp_path):
    """Mutation: ``keep`` in the hash (``NOT_HASHED = ()``): a relaunch with another --keep would
    rerun every finished job."""
    args = {"dataset": "SynthFFLOMO", "algorithm": "ERM", "test_envs": [0], "hparams_seed": 0,
            "trial_seed": 0, "seed": 1, "steps": 10}  # fmt: skip
    first = Job.from_args({**args, "keep": "best"}, tmp_path)
    first.output_dir.mkdir()
    (first.output_dir / "done").write_text("done\n")
    again = make_jobs([{**args, "keep": "all"}], tmp_path)
    assert [j.state for j in again] == ["Done"] and again[0].output_dir == first.output_dir
    assert job_hash({**args, "keep": "none"}) == job_hash(args)
    assert job_hash({**args, "steps": 11}) != job_hash(args)  # a result field still counts


# ------------------------------------------------------------------ 5, 6. the index reader

INDEX = "SynthFF.json"


def _index(tmp_path: Path, videos: dict[str, list[str]], masks: bool = True) -> Path:
    """An index of one label block (``FF-real``, test split) with the given frames, their mask
    files listed under ``masks``; the frame files exist, the mask files too."""
    block = {}
    for vid, frames in videos.items():
        raw = [f"SynthFF/frames/{vid}/{f}" for f in frames]
        entry = {"label": "FF-real", "frames": raw}
        if masks:
            entry["masks"] = [f"SynthFF/masks/{vid}/{f}" for f in reversed(frames)]
        block[vid] = entry
    doc = {"SynthFF": {"FF-real": {"train": {}, "val": {}, "test": block}}}
    path = tmp_path / "dataset_json" / INDEX
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    return path


def _touch(tmp_path: Path, sub: str, vid: str, names: list[str]) -> None:
    folder = tmp_path / "SynthFF" / sub / vid
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"x")


def test_masks_are_those_of_the_sampled_frames(tmp_path):
    """Mutation: ``_mask_paths(entry, listed, ...)`` (every listed frame, or the unsorted list)
    instead of the sampled, kept frames: masks no longer line up with frames."""
    names = ["10.png", "2.png", "0.png", "7.png", "5.png"]  # unsorted on purpose
    path = _index(tmp_path, {"v0": names})
    _touch(tmp_path, "frames", "v0", names)
    _touch(tmp_path, "masks", "v0", names)
    (video,) = read_videos(path, tmp_path, "FF-real", "test", frames_per_video=3)
    got = [Path(f).name for f in video.frames]
    assert got == ["0.png", "5.png", "10.png"]  # sorted by number, then 3 spread evenly
    assert video.masks is not None and len(video.masks) == 3
    assert [Path(m).name for m in video.masks] == got
    assert all(Path(m).parent == tmp_path / "SynthFF/masks/v0" for m in video.masks)


def test_masks_follow_frames_dropped_as_missing(tmp_path):
    """Mutation: masks looked up for the sampled frames before missing ones are dropped."""
    names = ["0.png", "1.png", "2.png"]
    path = _index(tmp_path, {"v0": names})
    _touch(tmp_path, "frames", "v0", ["0.png", "2.png"])
    _touch(tmp_path, "masks", "v0", names)
    with pytest.warns(UserWarning, match="skipped 1 missing frames"):
        (video,) = read_videos(path, tmp_path, "FF-real", "test", 0, skip_missing_frames=True)
    assert [Path(m).name for m in video.masks] == ["0.png", "2.png"]


def test_a_video_left_without_frames_is_dropped(tmp_path):
    """Mutation: ``if frames:`` removed (a video with no frames kept: an empty sample that
    breaks the loader and shifts every per-video metric)."""
    path = _index(tmp_path, {"v0": ["0.png", "1.png"], "v1": ["0.png"], "v2": []}, masks=False)
    _touch(tmp_path, "frames", "v0", ["0.png", "1.png"])  # v1's one frame is missing
    with pytest.warns(UserWarning, match="skipped 1 missing frames"):
        videos = read_videos(path, tmp_path, "FF-real", "test", 0, skip_missing_frames=True)
    assert [v.video_id for v in videos] == ["v0"]
    assert all(len(v.frames) > 0 for v in videos)


# ------------------------------------------------------------------ 7, 8. gradient alignment


def _softmax(z):
    m = max(z)
    e = [math.exp(v - m) for v in z]
    return [v / sum(e) for v in e]


def _grad(w, y):
    """d/dW of cross-entropy(softmax(W x), y) at x = [1]: softmax(W) - onehot(y)."""
    return [p - (k == y) for k, p in enumerate(_softmax(w))]


def _cos(a, b):
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def _one_weight_net(w: list[float]) -> torch.nn.Module:
    """logits = W x for x = [1]: 3 classes, the gradient of the loss is softmax(W) - onehot(y)."""
    net = torch.nn.Linear(1, 3, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor(w, dtype=torch.float64).reshape(3, 1))
    return net.double()


def _batch(y: int):
    return torch.ones(1, 1, dtype=torch.float64), torch.tensor([y])


def test_pairwise_cosine_matches_a_hand_computation():
    """At W = 0 the gradients are softmax − onehot: g0 = (−2/3, 1/3, 1/3), g1 = (1/3, −2/3, 1/3),
    cos = (−2/9 − 2/9 + 1/9) / (6/9) = −1/2 exactly (test_analysis only checked −1 <= cos <= 1)."""
    out = gradient_alignment(_one_weight_net([0, 0, 0]), [[_batch(0), _batch(1)]], rho=0.05)
    assert out["pair_0_1"] == pytest.approx(-0.5, abs=1e-9)
    assert out["pairwise_cos"] == pytest.approx(-0.5, abs=1e-9)


def test_perturbed_gradient_is_taken_at_theta_plus_e():
    """Mutation: g_i^p = ∇L_i(θ − e) instead of θ + e. Computed by hand: g = softmax(W) − e_y,
    e = ρ g/‖g‖, g^p = softmax(W + e) − e_y; the θ − e value differs by far more than the
    tolerance, so the sign of the step is pinned."""
    w, y, rho = [0.3, -0.4, 0.9], 0, 3.0
    g = _grad(w, y)
    norm = math.sqrt(sum(v * v for v in g))
    plus = _grad([a + rho * b / norm for a, b in zip(w, g, strict=True)], y)
    minus = _grad([a - rho * b / norm for a, b in zip(w, g, strict=True)], y)
    want, wrong = _cos(g, plus), _cos(g, minus)
    assert abs(want - wrong) > 1e-2
    out = gradient_alignment(_one_weight_net(w), [[_batch(y)]], rho=rho)
    assert out["perturbed_0"] == pytest.approx(want, abs=1e-7)
    assert out["perturbed_cos"] == pytest.approx(want, abs=1e-7)


# ------------------------------------------------------------------ 9. the tie rule of selection


def _ck(step: int, val: float, test: float) -> dict:
    def value(key):
        env, split, _ = key.split("_", 2)
        return test if env == "env0" and split == "in" else val if split == "out" else 0.5

    return checkpoint(step, 4, value)


def test_ties_go_to_the_earliest_checkpoint_then_the_first_run(tmp_path):
    """Mutations: ``score > best`` -> ``>=`` in ``_ranking.is_better`` (ties to the later
    checkpoint / run), or runs ranked in another order than their sorted names."""
    cks = [_ck(0, 0.8, 0.61), _ck(100, 0.8, 0.62), _ck(200, 0.7, 0.63)]
    write_run(tmp_path, dataset="FFppLOMO", algorithm="ERM", test_envs=[0], name="b_run",
              hparams_seed=0, checkpoints=cks)  # fmt: skip
    # a second hparams draw, as good on validation: its name sorts first, so it wins the tie
    write_run(tmp_path, dataset="FFppLOMO", algorithm="ERM", test_envs=[0], name="a_run",
              hparams_seed=1, checkpoints=[_ck(0, 0.7, 0.71), _ck(100, 0.8, 0.72)])  # fmt: skip
    out = select(load_records(tmp_path).df, "iid")
    assert len(out) == 1
    row = out.iloc[0]
    assert Path(row.run).name == "a_run" and row.step == 100 and row.auc == pytest.approx(0.72)
    # without a_run, b_run's first best checkpoint (step 0) is chosen, not step 100
    (tmp_path / "a_run" / "done").unlink()
    (tmp_path / "a_run" / "results.jsonl").unlink()
    (tmp_path / "a_run").rmdir()
    row = select(load_records(tmp_path).df, "iid").iloc[0]
    assert row.step == 0 and row.auc == pytest.approx(0.61)


# ------------------------------------------------------------------ 10. reproduce vs hand means


def test_reproduce_compares_hand_computed_means_with_the_paper(tmp_path):
    """``test_reproduce_report_on_ffpp`` wrote the code's own means as the paper's numbers; here
    the measured mean, s.e. and interval of RoGA's GID-DF cell are computed by hand from the AUCs
    written into the runs (0.81, 0.84, 0.90) and compared with the transcribed 90.08."""
    aucs = [0.81, 0.84, 0.90]
    for t, auc in enumerate(aucs):
        ck = checkpoint(0, 4, lambda k, auc=auc: auc if k.startswith("env0_") else 0.7)
        write_run(tmp_path, dataset="FFppLOMO", algorithm="RoGA", test_envs=[0], trial_seed=t,
                  checkpoints=[ck])  # fmt: skip
    report = reproduce_report(tmp_path)
    comp = next(
        c for c in report.comparisons if c.row == "RoGA" and c.column == "DF" and c.metric == "auc"
    )
    mean = sum(aucs) / 3
    se = math.sqrt(sum((a - mean) ** 2 for a in aucs) / 2 / 3)
    assert comp.n == 3 and comp.mean == pytest.approx(0.85) and comp.se == pytest.approx(se)
    assert comp.reported == pytest.approx(0.9008)
    assert comp.diff == pytest.approx(0.85 - 0.9008)
    half = 4.302652729911275 * se  # t_{0.975, 2}
    assert comp.interval == pytest.approx((0.85 - half, 0.85 + half))
    assert comp.inside is (0.85 - half <= 0.9008 <= 0.85 + half) is True
