"""How far SynthFF's cross-dataset targets sit from in-domain, for saved ERM runs (tuning aid).

    python -m roga_bench.sweep launch --datasets SynthFFCrossDataset --algorithms ERM \\
        --n_trials 3 --test_envs_mode crossdataset --output_dir /tmp/erm3 \\
        --hparams '{"targets": "SynthCDF,SynthUADFV,SynthDFDC"}'     # the paper suite's ERM runs
    python benchmarks/synthff_target_shift.py /tmp/erm3

For every finished ERM cross-dataset run under the folder (other algorithms are skipped), both
its selected checkpoint (``model_best.pkl``) and its last one (``model.pkl``) score each target's
test split *as the code in ``roga_bench/datasets/synthff/_pipeline.py`` makes it now*, generated
in memory (the same seed-0 default-size videos a build writes; nothing on disk changes). So a
recipe can be edited and re-scored in seconds without rebuilding SynthFF or retraining: the
training data, and so the models, do not depend on the targets. The in-domain AUC printed beside
is the run's own (the mean of DF..NT test AUC at that checkpoint, from results.jsonl).

Tune targets with ERM only: scoring other algorithms while choosing a recipe would shape the data
toward them (docs/synthff.md says how each target was tuned).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from roga_bench.datasets._transforms import normalize
from roga_bench.datasets.synthff import _pipeline as pipeline
from roga_bench.datasets.synthff._generate import DEFAULTS
from roga_bench.records import metric_key, read_records
from roga_bench.training._saved import load_saved_algorithm

FIRST_TARGET = 4  # SynthFFCrossDataset: envs 0-3 are DF..NT, 4-6 the targets in TARGETS order


def target_split(recipe: pipeline.Recipe, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """The test split of one target: normalised frames and labels (1 = fake)."""
    videos, frames, size = DEFAULTS["videos"], DEFAULTS["frames"], DEFAULTS["size"]
    n = pipeline.n_target_videos(videos)
    xs, ys = [], []
    for pair, split in pipeline.split_pairs(
        n, pipeline._rng(seed, recipe.code, 0), recipe.held_out
    ):
        if split != "test":
            continue
        for video in pipeline.make_pair(pipeline.Job(recipe, seed, pair, split, frames, size)):
            xs += [normalize(f) for f in video.frames]
            ys += [int(video.masks is not None)] * len(video.frames)
    return torch.stack(xs), np.asarray(ys)


@torch.no_grad()
def auc(algorithm: torch.nn.Module, x: torch.Tensor, y: np.ndarray) -> float:
    scores = [torch.softmax(algorithm.predict(b).float(), 1)[:, 1] for b in x.split(256)]
    return float(roc_auc_score(y, torch.cat(scores).numpy()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="folder of finished SynthFFCrossDataset runs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = []
    for results in sorted(args.sweep_dir.glob("*/results.jsonl")):
        records = {r["step"]: r for r in read_records(results)}
        run_args = next(iter(records.values()))["args"]
        if run_args["dataset"] != "SynthFFCrossDataset" or run_args["algorithm"] != "ERM":
            continue
        for name in ("model_best.pkl", "model.pkl"):
            algorithm, payload = load_saved_algorithm(results.parent / name)
            step = int(payload["step"])
            indomain = np.mean(
                [records[step][metric_key(i, "test", "auc")] for i in range(FIRST_TARGET)]
            )
            extra = dict(json.loads(run_args.get("hparams") or "{}"))
            extra.pop("targets", None)
            runs.append((results.parent.name[:8], name, step, indomain, algorithm, extra))
    if not runs:
        parser.error(f"{args.sweep_dir}: no finished SynthFFCrossDataset ERM run (*/results.jsonl)")
    splits = {r.name: target_split(r) for r in pipeline.TARGETS}
    print("run       checkpoint      step  in-domain  " + "  ".join(f"{t:>10}" for t in splits))
    table = []
    for run, name, step, indomain, algorithm, extra in runs:
        row = [indomain] + [auc(algorithm, *splits[t]) for t in splits]
        table.append((name, row))
        cells = "  ".join(f"{a:10.3f}" for a in row[1:])
        print(f"{run}  {name:14s} {step:5d}  {indomain:9.3f}  {cells}  {extra or ''}")
    for name in ("model_best.pkl", "model.pkl"):
        mean = np.mean([row for n, row in table if n == name], axis=0)
        print(
            f"mean      {name:14s}        {mean[0]:9.3f}  "
            + "  ".join(f"{a:10.3f}" for a in mean[1:])
        )


if __name__ == "__main__":
    main()
