"""The sequential design against the fixed design, at the spread measured on SynthFF.

    python benchmarks/bench_sequential.py                       # prints the tables
    python benchmarks/bench_sequential.py --out results/sequential/benchmark.md

1. The spread s_d of one run-pair difference (AUC points), backed out of the committed
   results/synthff/table_{I,II}.csv: MDE = (t_{0.975,n-1} + t_{0.8,n-1}) s_d / √n, pooled over
   each table's comparisons with ERM (``--sd`` gives one instead).
2. For each design (looks and spending functions) the smallest maximum N (on a grid) whose
   power at Δ = δ reaches ``--power``, then power, expected and maximum trials at true effects 0,
   δ/2, δ and 2δ from ``--n_sim`` simulated sequences of normal differences; the fixed design is
   the two-sided paired t-test with the same α and the same power at δ (exact noncentral t).
3. The headline's design (3 comparisons with ERM, max 100 trials, default looks): what it can
   decide at the Table I spread.

Trials are run pairs of one comparison (each is one job of the algorithm and, shared with the
other comparisons, one of the baseline). A simulation, not a timing: the numbers do not depend
on the machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from roga_bench.stats.sequential import (
    BETTER,
    EQUIVALENT,
    SequentialDesign,
    default_looks,
    fixed_design_trials,
    simulate_design,
)

ROOT = Path(__file__).resolve().parents[1]
ALPHA, DELTA = 0.05, 1.0
EFFECTS = (("0", 0.0), ("δ/2", 0.5), ("δ", 1.0), ("2δ", 2.0))


def measured_sd(table: str) -> tuple[float, list[str]]:
    """Pooled s_d (AUC points) of a committed table's comparisons with ERM, and the parts."""
    df = pd.read_csv(ROOT / "results" / "synthff" / f"table_{table}.csv")
    df = df.dropna(subset=["mde_vs_ERM"]).drop_duplicates("row")
    n, mde = df["n_pairs"].to_numpy(float), 100 * df["mde_vs_ERM"].to_numpy(float)
    sd = mde * np.sqrt(n) / (stats.t.ppf(0.975, n - 1) + stats.t.ppf(0.8, n - 1))
    parts = [f"{r} {s:.2f} (n={int(k)})" for r, s, k in zip(df["row"], sd, n, strict=True)]
    return float(np.sqrt(np.sum((n - 1) * sd**2) / np.sum(n - 1))), parts


def equal_looks(n_max: int, k: int = 10) -> tuple[int, ...]:
    return tuple(sorted({max(3, round(n_max * (i + 1) / k)) for i in range(k)}))


DESIGNS = {
    "doubling looks (default), OBF / Pocock": (lambda n: default_looks(n), "obf", "pocock"),
    "10 equal looks, OBF / Pocock": (equal_looks, "obf", "pocock"),
    "10 equal looks, Pocock / Pocock": (equal_looks, "pocock", "pocock"),
}


def run(design: SequentialDesign, effect: float, sd: float, n_sim: int) -> dict[str, float]:
    sim = simulate_design(design, [effect] * design.n_comparisons, sd, n_sim, seed=2025)
    v, trials = sim.verdict[:, 0], sim.trials[:, 0]
    return {
        "better": float((v == BETTER).mean()),
        "equivalent": float((v == EQUIVALENT).mean()),
        "mean": float(trials.mean()),
        "max": float(trials.max()),
    }


def smallest_n(make: tuple, sd: float, power: float, n_sim: int) -> int:
    """The smallest N on a 5 % grid whose design reaches ``power`` at Δ = δ."""
    looks_fn, spending, eq = make
    lo, hi = 8, 8
    while (
        run(SequentialDesign(looks_fn(hi), 1, ALPHA, DELTA, spending, eq), DELTA, sd, n_sim)[
            "better"
        ]
        < power
    ):
        lo, hi = hi, int(hi * 1.5) + 1
        if hi > 20_000:
            raise SystemExit(f"power {power} not reached below 20000 trials")
    while hi - lo > max(2, lo // 20):
        mid = (lo + hi) // 2
        d = SequentialDesign(looks_fn(mid), 1, ALPHA, DELTA, spending, eq)
        lo, hi = (mid, hi) if run(d, DELTA, sd, n_sim)["better"] < power else (lo, mid)
    return hi


def design_table(sd: float, power: float, n_sim: int) -> list[str]:
    lines = [
        f"s_d = {sd:.2f} AUC points, δ = {DELTA}, α = {ALPHA}, target power {power} at δ, "
        f"{n_sim} sequences per cell",
        "",
        "| design | N max | effect | P(better) | P(equivalent) | E[trials] | max | fixed n "
        "| saving |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, make in DESIGNS.items():
        n_max = smallest_n(make, sd, power, n_sim)
        design = SequentialDesign(make[0](n_max), 1, ALPHA, DELTA, make[1], make[2])
        at_delta = run(design, DELTA, sd, n_sim)
        fixed = fixed_design_trials(DELTA, sd, ALPHA, at_delta["better"])
        for label, effect in EFFECTS:
            r = at_delta if effect == DELTA else run(design, effect, sd, n_sim)
            lines.append(
                f"| {name} | {n_max} | {label} | {r['better']:.3f} | {r['equivalent']:.3f} | "
                f"{r['mean']:.1f} | {r['max']:.0f} | {fixed} | {1 - r['mean'] / fixed:+.0%} |"
            )
        lines.append(f"| | looks {list(design.looks)} | | | | | | | |")
    return lines


def headline_table(sd: float, n_sim: int) -> list[str]:
    lines = [
        "",
        f"Headline design: 3 comparisons with ERM (Holm), max 100 trials, s_d = {sd:.2f}; "
        "each row: all three true effects equal",
        "",
        "| looks | true Δ (points) | P(better) | P(equivalent) | E[trials per comparison] | "
        "E[jobs, 4 algorithms] |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for looks in (default_looks(100), tuple(range(10, 101, 10))):
        design = SequentialDesign(looks, 3, ALPHA, DELTA)
        for effect in (0.0, 1.0, 2.0, 3.0, 4.0, 6.0):
            sim = simulate_design(design, [effect] * 3, sd, n_sim, seed=7)
            jobs = sim.trials.sum(axis=1) + sim.trials.max(axis=1)
            lines.append(
                f"| {','.join(map(str, looks))} | {effect:g} | "
                f"{(sim.verdict == BETTER).mean():.3f} | {(sim.verdict == EQUIVALENT).mean():.3f} "
                f"| {sim.trials.mean():.1f} | {jobs.mean():.0f} |"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sd", type=float, default=None, help="s_d in AUC points (default: measured)")
    p.add_argument("--power", type=float, nargs="+", default=[0.8, 0.9])
    p.add_argument("--n_sim", type=int, default=20_000)
    p.add_argument("--out", default=None, help="also write the output here (markdown)")
    args = p.parse_args(argv)
    lines = ["# Sequential design vs fixed design (benchmarks/bench_sequential.py)", ""]
    sds = {}
    for table in ("I", "II"):
        sd, parts = measured_sd(table)
        sds[table] = sd
        lines.append(f"Table {table} run-pair s_d, pooled: {sd:.2f} ({'; '.join(parts)})")
    lines.append("")
    for sd in [args.sd] if args.sd else [sds["I"], sds["II"]]:
        for power in args.power:
            lines += [*design_table(sd, power, args.n_sim), ""]
    lines += headline_table(args.sd or sds["I"], args.n_sim // 4)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
