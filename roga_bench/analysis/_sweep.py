"""Analyse the selected runs of a sweep and write the table and figures."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from roga_bench.analysis import _cache, _figures, _table
from roga_bench.analysis._measure import (
    ANALYSES,
    VERSIONS,
    AnalysisConfig,
    Result,
    measure,
    prepare,
)
from roga_bench.analysis._runs import AnalysisError, DatasetPool, RunSpec, selected_runs

__all__ = ["AnalysisReport", "analyze_sweep", "parse_analyses", "batch_notes", "landscape_note"]

Results = dict[tuple[str, str], Result]


@dataclass
class AnalysisReport:
    """What ``analyze_sweep`` wrote: files, the long results, seconds per analysis, notes."""

    files: list[Path]
    long: pd.DataFrame
    seconds: dict[str, float]
    notes: list[str]
    cached: int
    computed: int


def parse_analyses(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"sharpness,cam"`` or ``"all"`` -> names; unknown names raise ``AnalysisError``."""
    items = text.split(",") if isinstance(text, str) else [x for t in text for x in t.split(",")]
    names = [x.strip() for x in items if x.strip()]
    if names == ["all"] or not names:
        return ANALYSES
    bad = [n for n in names if n not in ANALYSES]
    if bad:
        raise AnalysisError(f"--analyses {bad}: expected names from {list(ANALYSES)} or 'all'")
    return tuple(dict.fromkeys(names))


def _sweep_rhos(specs: Sequence[RunSpec]) -> tuple[float, ...]:
    from roga_bench.reporting import load_records

    runs = {s.run for s in specs}
    df = load_records(Path(specs[0].run).parent).df
    if "hparams.rho" not in df.columns:
        return (0.05,)
    vals = df[df["run"].isin(runs)]["hparams.rho"].dropna().astype(float)
    rhos = sorted({v for v in vals if v > 0})
    return tuple(rhos) or (0.05,)


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def analyze_sweep(
    input_dir: str | Path,
    out: str | Path,
    analyses: Sequence[str] = ANALYSES,
    algorithms: Sequence[str] | None = None,
    test_envs: Sequence[str] | None = None,
    selection: str = "iid",
    metric: str = "auc",
    config: AnalysisConfig | None = None,
    progress: bool = True,
) -> AnalysisReport:
    """Analyse every selected run of ``input_dir``; write table + figures under ``out``.

    Every model is rebuilt (and checked against its backbone) before any analysis runs, so bad
    input fails before anything is written. Results are cached per run and analysis in
    ``out/cache``. ``config.rhos`` empty: the sweep's own ρ values.

    Raises:
        AnalysisError: missing model file, model not matching its backbone, unknown env or
            algorithm name (the message names the run and file).
        RecordsError: the sweep folder cannot be read.
    """
    specs = selected_runs(input_dir, selection, metric, algorithms, test_envs)
    cfg = config or AnalysisConfig()
    if not cfg.rhos:
        cfg = replace(cfg, rhos=_sweep_rhos(specs))
    out = Path(out)
    keys = {
        (s.run, n): _cache.cache_key(s.model, n, {**cfg.key(), "version": VERSIONS[n]})
        for s in specs
        for n in analyses
    }
    results: Results = {}
    for k, key in keys.items():
        hit = _cache.load_cached(out / "cache", key)
        if hit is not None:
            results[k] = hit
    cached = len(results)
    computed = _compute(specs, analyses, cfg, keys, results, out / "cache", progress)
    seconds = dict.fromkeys(analyses, 0.0)
    for (_, name), result in results.items():
        seconds[name] += result.seconds
    return _report(specs, results, analyses, cfg, out, seconds, cached, computed, selection)


def _compute(specs, analyses, cfg, keys, results: Results, cache_dir: Path, progress) -> int:
    """Measure every (run, analysis) not in ``results`` (stored in the cache); how many."""
    from tqdm import tqdm

    # every run with work left is rebuilt (and checked) before any analysis runs; a cached run
    # was checked when it was computed (the key holds its model file's size and mtime)
    todo = [s for s in specs if any((s.run, n) not in results for n in analyses)]
    pool = DatasetPool()
    loaded = [pool.load(spec) for spec in todo]
    computed = 0
    for spec, (algorithm, ds) in tqdm(
        list(zip(todo, loaded, strict=True)), desc="analyse runs", unit="run", disable=not progress
    ):
        run = prepare(spec, algorithm, ds, cfg)
        for name in analyses:
            if (spec.run, name) not in results:
                result = measure(run, name)
                _cache.store(cache_dir, keys[(spec.run, name)], result)
                results[(spec.run, name)] = result
                computed += 1
    return computed


def _long_frame(specs: Sequence[RunSpec], results: Results, analyses: Sequence[str]):
    rows = []
    for spec in specs:
        for name in analyses:
            for k, v in sorted(results[(spec.run, name)].scalars.items()):  # as the cache stores
                rows.append(
                    {
                        "algorithm": spec.algorithm,
                        "test_env": spec.test_label,
                        "trial_seed": spec.trial_seed,
                        "run": spec.run,
                        "key": k,
                        "value": v,
                    }
                )
    return pd.DataFrame(
        rows, columns=["algorithm", "test_env", "trial_seed", "run", "key", "value"]
    )


def _run_notes(specs: Sequence[RunSpec], results: Results, analyses: Sequence[str]) -> list[str]:
    notes = []
    for spec in specs:
        for name in analyses:
            where = f"{spec.algorithm} {_figures.env_title(spec.test_label)}"
            notes += [f"{where}: {n}" for n in results[(spec.run, name)].notes]
    return list(dict.fromkeys(notes))


def _settings_notes(cfg: AnalysisConfig, n_runs: int, selection: str) -> list[str]:
    flat = min(cfg.flatness_batches, cfg.n_batches)
    return [
        f"{n_runs} runs selected by {selection}; mean ± s.e. over each algorithm's runs "
        "(test env × trial); * = p < 0.05 in a paired test vs ERM over (test env, trial).",
        f"Evaluation batches per env: {cfg.n_batches} disjoint batches of {cfg.batch_size} "
        "frames, half real and half fake, spread over the videos (one frame per video per pass "
        "over the shuffled videos), from the train split of a training env and the test split "
        f"of the held-out env, drawn once with seed {cfg.seed} + env; BatchNorm in eval mode. "
        f"Sharpness and Hessian on each of {flat} batch(es) separately, alignment on each "
        "batch: a run's number is the mean over its batches, and the measurement-noise table "
        "gives the s.e. over those batches (and Hutchinson's over its probes). "
        f"{cfg.ascent_steps} projected ascent steps, {cfg.power_iters} power iterations, "
        f"{cfg.hutchinson_samples} Hutchinson probes per batch; alignment ρ = {max(cfg.rhos):g}; "
        f"t-SNE/k-NN on up to {cfg.tsne_samples} test frames, half real; CAM scored on up to "
        f"{cfg.cam_score_frames} fake test frames of the held-out env (masks exist for fakes).",
    ]


_USES = {
    "sharpness": "sharpness/Hessian",
    "alignment": "alignment",
    "landscape": "loss slices",
    "cam": "CAM",
    "tsne": "t-SNE",
}


def batch_notes(results: Results, analyses: Sequence[str], most: int = 3) -> list[str]:
    """One note per analysis: the composition of every batch it used, counted over the runs."""
    notes = []
    for name in analyses:
        counts = Counter(b for (_, n), res in results.items() if n == name for b in res.batches)
        if not counts:
            continue
        by_use: dict[str, list[tuple[str, int]]] = {}
        for item, count in counts.most_common():
            use, _, desc = item.partition("|")
            by_use.setdefault(use, []).append((desc, count))
        parts = []
        for use, items in by_use.items():
            text = "; ".join(f"{d} (x{c})" for d, c in items[:most])
            if len(items) > most:
                text += f"; {len(items) - most} other compositions"
            parts.append(f"{use}: {text}")
        total = sum(counts.values())
        notes.append(f"{_USES.get(name, name)} batches ({total} in all): " + " | ".join(parts))
    return notes


def landscape_note(long: pd.DataFrame, radius: float) -> list[str]:
    """How often the trained point is the lowest point of its 1-D slice."""
    parts = []
    for role in ("train", "test"):
        at = long[long["key"] == f"landscape_argmin[{role}]"]["value"]
        if len(at):
            parts.append(f"{role} envs' loss {int((at == 0).sum())} of {len(at)} runs")
    if not parts:
        return []
    return [
        f"1-D slices on α in [-{radius:g}, {radius:g}]: α = 0 (the trained point, whose value is "
        "the model's measured loss on the slice's frames) is the lowest point for the "
        + ", ".join(parts)
        + "."
    ]


def _report(specs, results, analyses, cfg, out, seconds, cached, computed, selection):
    from roga_bench.reporting import order_rows

    long = _long_frame(specs, results, analyses)
    algs = order_rows(sorted({s.algorithm for s in specs}))
    envs = list(dict.fromkeys(s.test_label for s in sorted(specs, key=lambda s: s.test_envs)))
    summary = _table.summary_frame(long, _table.columns_for(cfg.rhos), algs)
    noise = _table.summary_frame(long, _table.noise_columns_for(cfg.rhos), algs, paired=False)
    notes = _settings_notes(cfg, len(specs), selection)
    notes += batch_notes(results, analyses)
    notes += landscape_note(long, cfg.landscape_radius) if "landscape" in analyses else []
    notes += _run_notes(specs, results, analyses)
    out.mkdir(parents=True, exist_ok=True)
    files = _write_figures(specs, results, analyses, algs, envs, out)
    long.to_csv(out / "analysis_runs.csv", index=False)
    files.append(out / "analysis_runs.csv")
    pd.concat([summary, noise]).to_csv(out / ".analysis.csv.tmp", index=False)
    os.replace(out / ".analysis.csv.tmp", out / "analysis.csv")
    files.append(out / "analysis.csv")
    files.append(_write(out / "analysis.tex", _table.to_latex(summary, notes, noise)))
    md = _table.to_markdown(summary, notes, noise)
    files.append(_write(out / "analysis.md", md))  # last
    return AnalysisReport(files, long, seconds, notes, cached, computed)


def _write_figures(specs, results, analyses, algs, envs, out: Path) -> list[Path]:
    files: list[Path] = []
    data = {
        (s.algorithm, s.test_label): {
            k: v for name in analyses for k, v in results[(s.run, name)].arrays.items()
        }
        for s in sorted(specs, key=lambda s: -s.trial_seed)  # the first trial wins
    }
    if "landscape" in analyses:
        files += _figures.landscape_figures(data, algs, envs, out)
    if "cam" in analyses:
        for method in ("gradcam", "gradcam++"):
            files += _figures.cam_figures(data, algs, envs, out, method)
    if "tsne" in analyses:
        names = max((s.environments for s in specs), key=len)
        files += _figures.tsne_figures(data, algs, envs, names, out)
    return files
