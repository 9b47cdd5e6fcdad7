"""The analysis table: one row per algorithm, mean ± s.e. over its selected runs, tests vs ERM.

A unit is one selected run (one test env × one trial seed); the s.e. is over those units and the
paired test against ERM matches units on (test env, trial seed) (``reporting``'s paired test:
Wilcoxon from 6 pairs, the paired t-test below). Formats: markdown, LaTeX (booktabs), CSV (long,
one line per algorithm × column with mean, s.e., n, p).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from tabulate import tabulate

__all__ = [
    "COLUMNS",
    "columns_for",
    "noise_columns_for",
    "summary_frame",
    "to_markdown",
    "to_latex",
]

# (scalar key, header, lower is better?) -- sharpness keys are added per ρ
COLUMNS: list[tuple[str, str]] = [
    ("hessian_top[train]", "λ_max train"),
    ("hessian_top[test]", "λ_max test"),
    ("hessian_trace[train]", "tr H train"),
    ("pairwise_cos[train]", "cos(g_i,g_j)"),
    ("perturbed_cos[train]", "cos(g_i,g_i^p)"),
    ("cam_energy[test]", "CAM in mask"),
    ("cam_pointing[test]", "CAM pointing"),
    ("campp_energy[test]", "CAM++ in mask"),
    ("silhouette_real_fake[all]", "silhouette"),
    ("domain_knn_acc[all]", "domain k-NN"),
]


def columns_for(rhos: Sequence[float]) -> list[tuple[str, str]]:
    sharp = []
    for rho in rhos:
        sharp += [
            (f"sharpness@{rho:g}[train]", f"sharp ρ={rho:g} train"),
            (f"sharpness@{rho:g}[test]", f"sharp ρ={rho:g} test"),
            (f"asharpness@{rho:g}[test]", f"A-sharp ρ={rho:g} test"),
        ]
    return sharp + COLUMNS


def noise_columns_for(rhos: Sequence[float]) -> list[tuple[str, str]]:
    """The measurement-noise table: each run's s.e. over its batches (Hutchinson: over its
    probes) of the flatness and alignment columns, averaged over the runs."""
    sharp = [(f"sharpness@{rho:g}_batch_se[train]", f"sharp ρ={rho:g} train") for rho in rhos]
    cols = sharp + [
        ("hessian_top_batch_se[train]", "λ_max train"),
        ("hessian_top_batch_se[test]", "λ_max test"),
        ("hessian_trace_batch_se[train]", "tr H train"),
        ("hessian_trace_probe_se[train]", "tr H train: probes"),
        ("pairwise_cos_batch_se[train]", "cos(g_i,g_j)"),
    ]
    return [(k, f"{h} (s.e. within run)") for k, h in cols]


def summary_frame(
    long: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    order: Sequence[str],
    paired: bool = True,
) -> pd.DataFrame:
    """Long results (algorithm, test_env, trial_seed, key, value) -> one line per algorithm ×
    column: mean, stderr, n, p_vs_ERM, n_pairs (``paired=False``: no test, p is NaN)."""
    from roga_bench.stats import paired_test

    rows = []
    for key, header in columns:
        sub = long[long["key"] == key]
        if sub.empty:
            continue
        wide = sub.pivot_table(
            index=["test_env", "trial_seed"], columns="algorithm", values="value", aggfunc="mean"
        )
        for alg in order:
            if alg not in wide.columns:
                continue
            vals = wide[alg].dropna()
            n = len(vals)
            se = float(vals.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            p, n_pairs = math.nan, 0
            if paired and alg != "ERM" and "ERM" in wide.columns:
                test = paired_test(wide[alg], wide["ERM"])
                p, n_pairs = test.p, test.n
            rows.append(
                {
                    "algorithm": alg,
                    "column": header,
                    "key": key,
                    "mean": float(vals.mean()) if n else math.nan,
                    "stderr": se,
                    "n": n,
                    "p_vs_ERM": p,
                    "n_pairs": n_pairs,
                }
            )
    return pd.DataFrame(
        rows, columns=["algorithm", "column", "key", "mean", "stderr", "n", "p_vs_ERM", "n_pairs"]
    )


def _cell(row: pd.Series | None, pm: str) -> str:
    if row is None or math.isnan(row["mean"]):
        return "-"
    text = f"{row['mean']:.4g}"
    if not math.isnan(row["stderr"]):
        text += f"{pm}{row['stderr']:.2g}"
    if not math.isnan(row["p_vs_ERM"]) and row["p_vs_ERM"] < 0.05:
        text += "*"
    return text


def _grid(summary: pd.DataFrame, pm: str) -> tuple[list[str], list[list[str]]]:
    headers = list(dict.fromkeys(summary["column"]))
    algs = list(dict.fromkeys(summary["algorithm"]))
    index = {(r["algorithm"], r["column"]): r for _, r in summary.iterrows()}
    body = [[a] + [_cell(index.get((a, h)), pm) for h in headers] for a in algs]
    return headers, body


def _markdown_table(summary: pd.DataFrame) -> list[str]:
    headers, body = _grid(summary, " ± ")
    esc = [[c.replace("|", "\\|") for c in row] for row in body]
    return [tabulate(esc, headers=["Method", *headers], tablefmt="github"), ""]


def to_markdown(
    summary: pd.DataFrame, notes: Sequence[str], noise: pd.DataFrame | None = None
) -> str:
    """The table as GitHub markdown, the measurement-noise table (mean over runs of each run's
    s.e. over batches, ± s.e. over runs) if any, and the notes as a list below."""
    lines = ["**Analysis: flatness, gradient alignment, localisation, latent space**", ""]
    if not summary.empty:
        lines += _markdown_table(summary)
    if noise is not None and not noise.empty:
        lines += ["**Measurement noise: s.e. over a run's independent batches**", ""]
        lines += _markdown_table(noise)
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def to_latex(summary: pd.DataFrame, notes: Sequence[str], noise: pd.DataFrame | None = None) -> str:
    """The table (and the measurement-noise table, if any) as booktabs ``tabular``s (labels
    escaped), notes as a comment block."""
    if summary.empty:
        return "% no analysis results\n" + "".join(f"% {n}\n" for n in notes)
    text = _latex_table(summary)
    if noise is not None and not noise.empty:
        text += "% measurement noise: s.e. over a run's independent batches\n" + _latex_table(noise)
    return text + "".join(f"% {n}\n" for n in notes)


def _latex_table(summary: pd.DataFrame) -> str:
    from roga_bench.reporting import escape_latex

    headers, body = _grid(summary, "±")
    out = [r"\begin{tabular}{l" + "r" * len(headers) + "}", r"\toprule"]
    heads = [escape_latex(h).replace("λ", r"$\lambda$") for h in ["Method", *headers]]
    out.append(" & ".join(heads) + r" \\")
    out.append(r"\midrule")
    out += [" & ".join(escape_latex(c) for c in row) + r" \\" for row in body]
    out += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(out) + "\n"
