"""What ``launch --until_decided`` writes and prints: design.json, looks.csv, verdicts, the cost.

Every file is written whole and atomically (a temporary file, then ``replace``), so a launcher
killed while writing leaves the previous version, never half a file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roga_bench.stats.sequential import (
    NON_INFERIOR,
    VERDICTS,
    SequentialResult,
    simulate_design,
)
from roga_bench.sweep._sequential_plan import DesignError, Plan

__all__ = [
    "PLANNING_SD",
    "PLANNING_SD_SINGLE",
    "cost_lines",
    "look_line",
    "looks_rows",
    "read_design",
    "verdict_rows",
    "write_csv",
    "write_design",
    "write_verdicts_md",
]

# Spread (s.d., AUC points) of one run-pair difference used to price a design before it runs:
# Table I (SynthFF cross-dataset) pooled over its comparisons with ERM, backed out of the MDEs
# in results/synthff/table_I.csv (3 pairs each; benchmarks/bench_sequential.py prints it).
PLANNING_SD = 7.7
# Table II (GID, one held-out manipulation per run): 4.22 per held-out set, the same back-out;
# a trial's difference is the mean over its sets, so this is an upper bound for it.
PLANNING_SD_SINGLE = 4.2


def planning_sd(plan: Plan) -> float:
    """The planning spread of the design's protocol (Table I's or Table II's)."""
    return PLANNING_SD_SINGLE if plan.doc.get("test_envs_mode") == "single" else PLANNING_SD


PLANNING_SIMS = 4000


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def read_design(sweep_dir: Path) -> dict[str, Any] | None:
    """design.json of the folder, or None when there is none yet."""
    path = Path(sweep_dir) / "design.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DesignError(f"{path}: unreadable ({exc}); it is the pre-registration") from None


def write_design(sweep_dir: Path, doc: Mapping[str, Any]) -> None:
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    stamped = {**doc, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _atomic(Path(sweep_dir) / "design.json", json.dumps(stamped, indent=1, sort_keys=True) + "\n")


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _atomic(path, buf.getvalue())


def _num(value: float, digits: int = 3) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def _side(plan: Plan) -> str:
    """Column prefix of the second test: ``eq`` (the TOST) or ``inf`` (inferiority)."""
    return "inf" if plan.design.non_inferiority else "eq"


def _ci(result: SequentialResult, i: int, k: int) -> tuple[float, float, float, float]:
    """The repeated CI (two-sided, level in force) and the TOST's CI at look k.

    Non-inferiority mode: mean ± u·se (its lower end is the non-inferiority test: above −δ)
    and mean ± f·se (its upper end is the inferiority test: below −δ)."""
    mean, se = result.mean[0, i, k], result.se[0, i, k]
    c, e = result.boundary[0, i, k], result.eq_boundary[0, i, k]
    with np.errstate(invalid="ignore"):
        return mean - c * se, mean + c * se, mean - e * se, mean + e * se


def looks_rows(plan: Plan, result: SequentialResult) -> list[dict[str, Any]]:
    """One row per look and comparison analysed at that look (open when the look started)."""
    design, rows = plan.design, []
    for k in range(result.looks_run):
        so_far = "; ".join(
            f"{name}: {VERDICTS[int(result.state[0, i, k])]}" for i, name in enumerate(plan.names)
        )
        side = _side(plan)
        for i, name in enumerate(plan.names):
            if k > 0 and result.state[0, i, k - 1] != 0:
                continue  # decided at an earlier look: no more trials, no more tests
            lo, hi, elo, ehi = _ci(result, i, k)
            level = float(result.level[0, i, k])
            side_spent = design.alpha_spent(k, design.side_alpha / design.n_comparisons, True)
            rows.append({
                "look": k + 1,
                "n_pairs": design.looks[k],
                "comparison": name,
                "delta": _num(result.mean[0, i, k]),
                "se": _num(result.se[0, i, k]),
                "t": _num(result.t[0, i, k]),
                "boundary": _num(result.boundary[0, i, k]),
                "level": f"{level:.6g}",
                "alpha_spent": f"{design.alpha_spent(k, level):.6g}",
                "ci_low": _num(lo),
                "ci_high": _num(hi),
                f"{side}_boundary": _num(result.eq_boundary[0, i, k]),
                f"{side}_alpha_spent": f"{side_spent:.6g}",
                f"{side}_ci_low": _num(elo),
                f"{side}_ci_high": _num(ehi),
                "verdict": VERDICTS[int(result.state[0, i, k])],
                "verdicts_so_far": so_far,
            })  # fmt: skip
    return rows


def verdict_rows(plan: Plan, result: SequentialResult, reason: str) -> list[dict[str, Any]]:
    """One row per comparison: its verdict, trials used and the CIs at its last look."""
    rows = []
    for i, name in enumerate(plan.names):
        k = int(result.stop[0, i]) if result.verdict[0, i] != 0 else result.looks_run - 1
        lo, hi, elo, ehi = _ci(result, i, k)
        verdict = VERDICTS[int(result.verdict[0, i])]
        side = _side(plan)
        rows.append({
            "comparison": name,
            "verdict": verdict,
            "trials": plan.design.looks[k],
            "look": k + 1,
            "delta": _num(result.mean[0, i, k]),
            "ci_low": _num(lo),
            "ci_high": _num(hi),
            f"{side}_ci_low": _num(elo),
            f"{side}_ci_high": _num(ehi),
            "t": _num(result.t[0, i, k]),
            "boundary": _num(result.boundary[0, i, k]),
            "ended_by": "decided" if verdict != "undecided" else reason,
        })  # fmt: skip
    return rows


def _with(plan: Plan) -> str:
    if plan.references:
        return f"comparison(s) {', '.join(plan.names)}"
    return f"comparison(s) with {plan.baseline}"


def rule_text(plan: Plan) -> str:
    d = plan.design
    if d.non_inferiority:
        return (
            f"Sequential non-inferiority design (pre-registered in design.json): "
            f"{d.n_comparisons} {_with(plan)}, looks at {', '.join(map(str, d.looks))} trials, "
            f"H0 Δ ≤ −{d.margin} AUC points, one-sided α/2 = {d.side_alpha:g} per side. "
            f"non-inferior: the repeated lower bound above −{d.margin} (paired t against "
            f"Lan-DeMets {d.spending.upper()} one-sided boundaries calibrated for the t "
            "statistic, Holm with α recycling); inferior: the repeated upper bound below "
            f"−{d.margin} ({d.equivalence_spending} spending, Bonferroni). Δ = candidate − "
            "reference, AUC points, one run pair per trial, training-domain validation selection."
        )
    return (
        f"Sequential design (pre-registered in design.json): {d.n_comparisons} "
        f"{_with(plan)}, looks at {', '.join(map(str, d.looks))} trials, α = {d.alpha}, "
        f"δ = ±{d.margin} AUC points. better/worse: paired t against Lan-DeMets "
        f"{d.spending.upper()} boundaries calibrated for the t statistic, Holm with α "
        f"recycling (Maurer & Bretz 2013); equivalent: the repeated (1 − 2α/m) CI inside ±δ "
        f"({d.equivalence_spending} spending). Δ = algorithm − reference, AUC points, "
        "one run pair per trial, training-domain validation selection."
    )


def write_verdicts_md(path: Path, plan: Plan, result: SequentialResult, reason: str) -> None:
    rows = verdict_rows(plan, result, reason)
    lines = [f"**Verdicts** ({rule_text(plan)})", ""]
    side = _side(plan)
    second = "inferiority CI" if side == "inf" else "TOST CI"
    lines += [f"| comparison | verdict | trials | Δ | repeated CI | {second} | ended by |"]
    lines += ["| --- | --- | ---: | ---: | --- | --- | --- |"]
    margin = plan.design.margin
    for r in rows:
        verdict = r["verdict"] + {
            "equivalent": f" within ±{margin}",
            "non-inferior": f" (margin {margin})",
            "inferior": f" (by more than {margin})",
        }.get(r["verdict"], "")
        lines.append(
            f"| {r['comparison']} | {verdict} | {r['trials']} | {r['delta']} | "
            f"[{r['ci_low']}, {r['ci_high']}] | [{r[side + '_ci_low']}, {r[side + '_ci_high']}] "
            f"| {r['ended_by']} |"
        )
    _atomic(path, "\n".join(lines) + "\n")


def look_line(plan: Plan, result: SequentialResult, k: int) -> str:
    """The progress line printed after look k."""
    parts = []
    for i, name in enumerate(plan.names):
        if k > 0 and result.state[0, i, k - 1] != 0:
            continue
        lo, hi, _, _ = _ci(result, i, k)
        parts.append(
            f"{name}: Δ={_num(result.mean[0, i, k], 2)} CI [{_num(lo, 2)}, {_num(hi, 2)}] "
            f"t={_num(result.t[0, i, k], 2)} (bound {_num(result.boundary[0, i, k], 2)}) "
            f"-> {VERDICTS[int(result.state[0, i, k])]}"
        )
    return f"look {k + 1} ({plan.design.looks[k]} trials): " + "; ".join(parts)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def cost_lines(plan: Plan, job_seconds: Mapping[str, float]) -> list[str]:
    """Worst-case and expected jobs and wall time, before anything runs."""
    d, m = plan.design, len(plan.others)
    algs = plan.algorithms
    sets = max(len(plan.doc.get("test_envs") or [()]), 1)  # jobs per algorithm and trial (GID: 4)
    per_trial = sets * sum(job_seconds[a] for a in algs)
    worst_jobs = sets * len(algs) * d.looks[-1]
    sd = planning_sd(plan)
    what = f"non-inferiority, δ={d.margin}" if d.non_inferiority else f"δ=±{d.margin}"
    lines = [
        f"design: {m} {_with(plan)}, looks {list(d.looks)}, α={d.alpha}, "
        f"{what}, first trial seed {plan.doc['first_trial']}",
        f"worst case: {worst_jobs} jobs, {_hours(per_trial * d.looks[-1] / plan.slots)} wall "
        f"({plan.slots} slot(s); job times: "
        + ", ".join(f"{a} {job_seconds[a]:.0f} s" for a in algs)
        + f"; {plan.timing_note})",
    ]
    effects = (("0", 0.0), ("δ", d.margin), ("2δ", 2 * d.margin))
    if d.non_inferiority:
        effects = (("−δ", -d.margin), ("0", 0.0), ("+δ", d.margin))
    for label, effect in effects:
        sim = simulate_design(d, [effect] * m, sd, PLANNING_SIMS, seed=1)
        trials = sim.trials * sets  # (S, m): jobs of each candidate
        jobs = trials.sum(axis=1)
        secs = (trials * np.array([job_seconds[a] for a in plan.others])).sum(axis=1)
        refs = np.asarray(plan.refs)
        for ref in dict.fromkeys(plan.refs):  # a reference runs with its longest comparison
            base = trials[:, refs == ref].max(axis=1)
            jobs = jobs + base
            secs = secs + base * job_seconds[ref]
        lines.append(
            f"expected if every Δ = {label}: {jobs.mean():.0f} jobs, "
            f"{_hours(secs.mean() / plan.slots)} wall (planning s.d. {sd} AUC points)"
        )
    return [*lines, _reach(plan)]


def _reach(plan: Plan) -> str:
    """What the design can decide at the planning spread: the smallest effect (a multiple of
    δ/2) found better with 80 % power, and how often Δ = 0 ends equivalent."""
    d, m = plan.design, len(plan.others)
    sd = planning_sd(plan)
    if d.non_inferiority:
        probs = []
        for effect in (0.0, d.margin):
            sim = simulate_design(d, [effect] * m, sd, PLANNING_SIMS, seed=2)
            probs.append(float((sim.verdict == NON_INFERIOR).mean()))
        return (
            f"at s.d. {sd}: non-inferior (margin {d.margin:g}) found in {probs[0]:.0%} "
            f"of runs if Δ = 0, {probs[1]:.0%} if Δ = +{d.margin:g}"
        )
    null = simulate_design(d, [0.0] * m, sd, PLANNING_SIMS, seed=2)
    equivalent = float((null.verdict == 2).mean())
    for half_steps in range(1, 41):
        effect = half_steps * d.margin / 2
        sim = simulate_design(d, [effect] * m, sd, PLANNING_SIMS, seed=3)
        if (sim.verdict == 1).mean() >= 0.8:
            break
    else:
        limit = 20 * d.margin
        return f"at s.d. {sd}: no Δ up to {limit:g} points is found with 80 % power"
    return (
        f"at s.d. {sd}: better found with 80 % power from Δ = {effect:g} points; "
        f"a comparison with Δ = 0 ends equivalent within ±{d.margin:g} in {equivalent:.0%} of runs"
    )
