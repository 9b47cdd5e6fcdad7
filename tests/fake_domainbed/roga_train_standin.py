"""Stand-in for ``python -m roga_bench.train`` in sweep tests (run with ``--train_module``).

Accepts the sweep's arguments, writes one results.jsonl line with fixed metrics and the
environment it saw, then ``done``. ``--hparams '{"fail": true}'`` writes a traceback to err.txt
and exits 3 instead, like a crashed run. With ``$ROGA_STANDIN_WAIT_FOR`` set, it first waits (up to
two minutes) until that file exists: a job still running while a test relaunches the sweep.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--hparams", default=None)
    parser.add_argument("--test_envs", type=int, nargs="+", required=True)
    args, rest = parser.parse_known_args()
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    hparams = json.loads(args.hparams) if args.hparams else {}
    release = os.environ.get("ROGA_STANDIN_WAIT_FOR")
    deadline = time.monotonic() + 120
    while release and not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.1)
    if hparams.get("fail"):
        (out / "err.txt").write_text(
            "Traceback (most recent call last):\nRuntimeError: boom (asked to fail)\n"
        )
        sys.exit(3)
    record = {
        "step": 2,
        "env0_out_auc": 0.75,
        "env1_out_auc": 0.25,
        **{f"env{i}_in_auc": 0.6 for i in args.test_envs},
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "args": {"output_dir": str(out), "test_envs": args.test_envs, "rest": rest},
    }
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
    (out / "done").write_text("done")
