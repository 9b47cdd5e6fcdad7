"""Stand-in for ``python -m roga_bench.train`` in the sequential-design tests (``--train_module``).

Writes a SynthFFCrossDataset-shaped results.jsonl in a blink: one checkpoint whose test AUC is
0.7 plus noise fixed by (algorithm, trial seed), the same for every algorithm in expectation,
then ``done``.
"""

import argparse
import json
import random
from pathlib import Path

ENVS = ["DF", "F2F", "FS", "NT", "SynthCDF", "SynthUADFV", "SynthDFDC"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("output_dir", "dataset", "algorithm"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--trial_seed", type=int, required=True)
    parser.add_argument("--test_envs", type=int, nargs="+", required=True)
    args, _ = parser.parse_known_args()
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    auc = 0.7 + 0.01 * random.Random(f"{args.algorithm}/{args.trial_seed}").gauss(0, 1)
    record = {
        "step": 0,
        "args": vars(args),
        "hparams": {"backbone": "small_cnn", "optimizer": "sgd"},
        "dataset_environments": ENVS,
        **{f"env{i}_out_auc": 0.9 for i in range(4)},
        **{f"env{i}_in_auc": auc for i in args.test_envs},
    }
    (out / "results.jsonl").write_text(json.dumps(record, sort_keys=True) + "\n")
    (out / "done").write_text("done")
