"""Each bug of issue 28's mutation audit, applied in memory: the test that guards it must fail
(and pass on the unmutated code).

    nice -n 19 python benchmarks/survivor_mutations.py          # every mutation
    nice -n 19 python benchmarks/survivor_mutations.py keep ties  # some of them

Prints one line per mutation: its name, the file and edit, the test, and FAILS (caught) or
PASSES (not caught: exit 1). A mutation whose original text is not found once in its file
(the code moved or changed) is reported as stale (exit 1), never skipped silently.

One process (torch imported once): the mutated source of the module is compiled and each of its
functions gets the mutated code object, the test runs (``pytest.main``), the original code and
globals are put back. No file is written.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import sys
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


def _module_name(rel: str) -> str:
    return rel.removesuffix(".py").replace("/", ".")


def _swap(module, source: str) -> dict:
    """Run ``source`` as ``module``'s code: its globals updated and each existing function's code
    object replaced (callers holding the old function objects run the new code). Returns what
    restores the module."""
    fresh: dict = {"__name__": module.__name__, "__file__": module.__file__}
    # a registry refusing a second registration at the end of a module stops the exec: the
    # functions above it are defined, which is what is swapped
    with contextlib.suppress(Exception):
        exec(compile(source, module.__file__, "exec"), fresh)
    saved = dict(module.__dict__)
    codes = {}
    for name, old in saved.items():
        new = fresh.get(name)
        for a, b in _functions(old, new):
            if a.__code__ != b.__code__ and a.__code__.co_freevars == b.__code__.co_freevars:
                codes[a] = a.__code__
                a.__code__ = b.__code__
    plain = {
        k: v
        for k, v in fresh.items()
        if not k.startswith("__") and not callable(v) and k in saved and _differs(saved[k], v)
    }
    module.__dict__.update(plain)
    return {"globals": saved, "codes": codes, "changed": len(codes) + len(plain)}


def _differs(a, b) -> bool:
    try:
        return bool(a != b)
    except Exception:  # noqa: BLE001  # arrays and the like: compare by identity of value type
        return type(a) is not type(b)


def _functions(old, new):
    """(old function, new function) pairs of a module attribute (methods of classes too)."""
    if inspect.isfunction(old) and inspect.isfunction(new):
        yield inspect.unwrap(old), inspect.unwrap(new)
    elif inspect.isclass(old) and inspect.isclass(new):
        for k, v in vars(old).items():
            w = vars(new).get(k)
            if isinstance(v, (classmethod, staticmethod)) and isinstance(w, type(v)):
                v, w = v.__func__, w.__func__
            if inspect.isfunction(v) and inspect.isfunction(w):
                yield v, w


def _restore(module, saved: dict) -> None:
    for func, code in saved["codes"].items():
        func.__code__ = code
    module.__dict__.clear()
    module.__dict__.update(saved["globals"])


def _run_test(test: str) -> int:
    import pytest

    args = ["-q", "-x", "-p", "no:cacheprovider", "--no-header", "-W", "ignore", str(ROOT / test)]
    with contextlib.redirect_stdout(io.StringIO()):
        return int(pytest.main(args))


def check(name: str) -> str:
    """``caught``, ``NOT CAUGHT`` or ``stale`` for one mutation (the module restored after)."""
    rel, old, new, test = MUTATIONS[name]
    text = (ROOT / rel).read_text(encoding="utf-8")
    if text.count(old) != 1:
        return f"stale ({old!r} found {text.count(old)} times in {rel})"
    module = importlib.import_module(_module_name(rel))
    saved = _swap(module, text.replace(old, new))
    if not saved["changed"]:
        _restore(module, saved)
        return "not applied (no function or constant changed)"
    try:
        return "caught" if _run_test(test) != 0 else "NOT CAUGHT"
    finally:
        _restore(module, saved)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="substrings of mutation names (default: all)")
    args = parser.parse_args(argv)
    names = [n for n in MUTATIONS if not args.names or any(a in n for a in args.names)]
    if not names:
        parser.error(f"no mutation matches {args.names}; known: {list(MUTATIONS)}")
    sys.path.insert(0, str(ROOT))
    for rel in {MUTATIONS[n][0] for n in names}:
        importlib.import_module(_module_name(rel))
    tests = sorted({MUTATIONS[n][3] for n in names})
    failing = [t for t in tests if _run_test(t) != 0]
    if failing:
        print(f"guarding tests fail on the unmutated code: {failing}", file=sys.stderr)
        return 1
    bad = 0
    for name in names:
        verdict = check(name)
        rel, _, _, test = MUTATIONS[name]
        print(f"{name:30} {rel:36} {verdict:10} {test.split('::')[-1]}", flush=True)
        bad += verdict != "caught"
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
