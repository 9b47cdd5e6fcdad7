"""Each bug of issue 28's mutation audit, applied to a scratch copy: the test that guards it must
fail (and pass again on the unmutated code).

    nice -n 19 python benchmarks/survivor_mutations.py          # every mutation
    nice -n 19 python benchmarks/survivor_mutations.py keep ties  # some of them

Prints one line per mutation: its name, the file and edit, the test, and FAILS (caught) or
PASSES (not caught: exit 1). A mutation whose original text is not found once in its file
(the code moved or changed) is reported as stale (exit 1), never skipped silently.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T = "tests/test_survivors.py::"

# name -> (file, original text, mutated text, test node)
MUTATIONS: dict[str, tuple[str, str, str, str]] = {
    "held-out pairing": (
        "roga_bench/reporting/_compare.py",
        "if unit != table.units.get((base, col), {}).get(trial, (trial,)):",
        "if False:",
        T + "test_runs_of_different_held_out_sets_are_never_paired",
    ),
    "wilcoxon at >6": (
        "roga_bench/stats/_tests.py",
        "if len(nonzero) >= MIN_WILCOXON_PAIRS:",
        "if len(nonzero) > MIN_WILCOXON_PAIRS:",
        T + "test_the_switch_to_wilcoxon_is_at_exactly_six_nonzero_pairs",
    ),
    "wilcoxon at 5": (
        "roga_bench/stats/_tests.py",
        "MIN_WILCOXON_PAIRS = 6",
        "MIN_WILCOXON_PAIRS = 5",
        T + "test_the_switch_to_wilcoxon_is_at_exactly_six_nonzero_pairs",
    ),
    "wilcoxon counts zeros": (
        "roga_bench/stats/_tests.py",
        "if len(nonzero) >= MIN_WILCOXON_PAIRS:",
        "if len(d) >= MIN_WILCOXON_PAIRS:",
        T + "test_the_switch_to_wilcoxon_is_at_exactly_six_nonzero_pairs",
    ),
    "holm uncapped": (
        "roga_bench/stats/_tests.py",
        '        adjusted = multipletests([values[i] for i in finite], method="holm")[1]\n',
        "        raw = [values[i] for i in finite]\n"
        "        order = sorted(range(len(raw)), key=raw.__getitem__)\n"
        "        adjusted, top = [0.0] * len(raw), 0.0\n"
        "        for k, j in enumerate(order):\n"
        "            top = max(top, (len(raw) - k) * raw[j])\n"
        "            adjusted[j] = top\n",
        T + "test_holm_is_capped_at_one",
    ),
    "keep hashed": (
        "roga_bench/sweep/_jobs.py",
        'NOT_HASHED = ("keep",)',
        "NOT_HASHED = ()",
        T + "test_a_relaunch_with_another_keep_finds_its_finished_jobs",
    ),
    "masks of listed frames": (
        "roga_bench/datasets/_index.py",
        "masks = _mask_paths(entry, kept, root_dir, roots, where, locate)",
        "masks = _mask_paths(entry, listed, root_dir, roots, where, locate)",
        T + "test_masks_are_those_of_the_sampled_frames",
    ),
    "masks before dropping missing": (
        "roga_bench/datasets/_index.py",
        "masks = _mask_paths(entry, kept, root_dir, roots, where, locate)",
        "masks = _mask_paths(entry, [str(r) for r in sample_frames(sort_frames(listed), "
        "frames_per_video, frame_sampling)], root_dir, roots, where, locate)",
        T + "test_masks_follow_frames_dropped_as_missing",
    ),
    "empty videos kept": (
        "roga_bench/datasets/_index.py",
        "        if frames:\n            masks = _mask_paths(",
        "        if True:\n            masks = _mask_paths(",
        T + "test_a_video_left_without_frames_is_dropped",
    ),
    "perturbed at theta-e": (
        "roga_bench/analysis/_alignment.py",
        "gp = g_fn(_axpy(params, 1.0, e))",
        "gp = g_fn(_axpy(params, -1.0, e))",
        T + "test_perturbed_gradient_is_taken_at_theta_plus_e",
    ),
    "pairwise cos of i with itself": (
        "roga_bench/analysis/_alignment.py",
        "cosine(grads[i], grads[j])",
        "cosine(grads[i], grads[i])",
        T + "test_pairwise_cosine_matches_a_hand_computation",
    ),
    "cos of absolute dot": (
        "roga_bench/analysis/_alignment.py",
        "return float(_dot(a, b)) / denom if denom > 0 else 0.0",
        "return abs(float(_dot(a, b))) / denom if denom > 0 else 0.0",
        T + "test_pairwise_cosine_matches_a_hand_computation",
    ),
    "ties to the later checkpoint": (
        "roga_bench/_ranking.py",
        "(math.isnan(best) or score > best)",
        "(math.isnan(best) or score >= best)",
        T + "test_ties_go_to_the_earliest_checkpoint_then_the_first_run",
    ),
    "runs in reverse order": (
        "roga_bench/reporting/selection.py",
        'for cand in sorted(candidates, key=lambda c: str(c["run"])):',
        'for cand in sorted(candidates, key=lambda c: str(c["run"]), reverse=True):',
        T + "test_ties_go_to_the_earliest_checkpoint_then_the_first_run",
    ),
    "cell mean over n-1": (
        "roga_bench/reporting/_aggregate.py",
        "mean = float(arr.mean())",
        "mean = float(arr.sum() / max(n - 1, 1))",
        T + "test_reproduce_compares_hand_computed_means_with_the_paper",
    ),
    "cell s.e. with ddof 0": (
        "roga_bench/reporting/_aggregate.py",
        "se = float(arr.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan",
        "se = float(arr.std(ddof=0) / math.sqrt(n)) if n > 1 else math.nan",
        T + "test_reproduce_compares_hand_computed_means_with_the_paper",
    ),
}


def _pytest(work: Path, test: str, show: bool = False) -> int:
    env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test]
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    if show and done.returncode:
        print(done.stdout[-3000:], done.stderr[-2000:], file=sys.stderr)
    return done.returncode


def check(name: str, work: Path) -> str:
    """``caught``, ``NOT CAUGHT`` or ``stale`` for one mutation (the copy is restored after)."""
    rel, old, new, test = MUTATIONS[name]
    path = work / rel
    text = path.read_text(encoding="utf-8")
    if text.count(old) != 1:
        return f"stale ({old!r} found {text.count(old)} times in {rel})"
    try:
        path.write_text(text.replace(old, new), encoding="utf-8")
        return "caught" if _pytest(work, test) != 0 else "NOT CAUGHT"
    finally:
        path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="substrings of mutation names (default: all)")
    args = parser.parse_args(argv)
    names = [n for n in MUTATIONS if not args.names or any(a in n for a in args.names)]
    if not names:
        parser.error(f"no mutation matches {args.names}; known: {list(MUTATIONS)}")
    bad = 0
    with tempfile.TemporaryDirectory(prefix="roga_survivors_") as tmp:
        work = Path(tmp)
        ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
        shutil.copytree(ROOT / "roga_bench", work / "roga_bench", ignore=ignore)
        shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
        shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
        tests = sorted({MUTATIONS[n][3] for n in names})
        if any(_pytest(work, t, show=True) != 0 for t in tests):
            print("a guarding test fails on the unmutated code", file=sys.stderr)
            return 1
        for name in names:
            verdict = check(name, work)
            rel, _, _, test = MUTATIONS[name]
            print(f"{name:32} {rel:38} {verdict:10} {test.split('::')[-1]}", flush=True)
            bad += verdict != "caught"
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
