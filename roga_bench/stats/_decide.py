"""The decision rule: better, worse, equivalent within ±δ, or undecided, for a table's rows.

A table compares m rows with their baselines (RoGA vs ERM, SAM vs ERM, ...). Per row:

- ``better`` / ``worse``: the Holm-adjusted p of the row's paired test (Wilcoxon from 6 non-zero
  differences, else paired t: the line names it) is below α; the sign of Δ says which.
- ``equivalent``: the Holm-adjusted p of the row's paired TOST against ±δ is below α, i.e. the
  (1 − 2α_k) t interval of Δ lies inside (−δ, +δ), α_k = α / (m − k + 1) the Holm level of the
  row's position k among the TOST p-values. Never from a minimum detectable effect.
- ``undecided``: neither; with the 95% interval of Δ and the trials a new sweep would need
  (:func:`trials_to_decide`, at the row's Holm level and by the test it would use), or why none
  can be given.

Why two Holm families: a row can be claimed different (null Δ = 0) or equivalent (null |Δ| ≥ δ);
the two nulls are disjoint, so at most one of them is true for a row. Holm runs over the m
difference p-values and, separately, over the m TOST p-values: each kind of claim keeps its
family-wise error at α. A table's chance of *some* false claim of either kind is at most 2α in
the worst case (some rows with Δ = 0 and others with |Δ| ≥ δ, each at its boundary); it is at
most α whenever all rows lean the same way. A row that passes both (|Δ| small but certain) is
reported as better/worse: the difference is real, and smaller than δ (the line says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from roga_bench.stats._power import Need, floor_reason, trials_to_decide
from roga_bench.stats._tests import ALPHA, PairedTest, holm, holm_levels, paired_test, tost_paired

__all__ = ["DEFAULT_MARGIN", "Comparison", "DecisionRule", "Verdict", "decide"]

DEFAULT_MARGIN = 1.0  # AUC points: differences inside ±1 point count as no difference


@dataclass(frozen=True)
class DecisionRule:
    """α, the equivalence margin δ and the unit the margin is written in.

    Attributes:
        alpha: family-wise level of each kind of claim (Holm across a table's rows).
        margin: δ in display units (AUC points by default).
        scale: display units per data unit (100: data are AUC fractions, shown as points).
    """

    alpha: float = ALPHA
    margin: float = DEFAULT_MARGIN
    scale: float = 100.0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha {self.alpha!r}: expected a number in (0, 1)")
        if not (self.margin > 0 and math.isfinite(self.margin)):
            raise ValueError(f"margin {self.margin!r}: expected a positive number (AUC points)")

    @property
    def delta(self) -> float:
        """δ in data units (a fraction of AUC)."""
        return self.margin / self.scale

    def short(self) -> str:
        """``α = 0.05, δ = ±1 AUC points, Holm``: the rule in a title."""
        return f"α = {self.alpha:g}, δ = ±{self.margin:g} AUC points, Holm across rows"

    def text(self) -> str:
        """The rule in one paragraph, printed with every table."""
        a, d = f"{self.alpha:g}", f"{self.margin:g}"
        return (
            f"Decision rule: α = {a}, margin δ = ±{d} AUC points, Holm across each table's "
            f"rows. better/worse: Holm-adjusted p < {a} by the test used (Wilcoxon signed-rank "
            f"from 6 non-zero differences, else paired t). equivalent within ±{d}: Holm-adjusted "
            f"TOST p < {a} (the 1 − 2α_Holm interval of Δ inside ±{d}). Otherwise undecided, "
            "with the 95% t interval of Δ and the trials a new sweep would need (exact "
            "noncentral t at the row's Holm level; power 0.8) — adding trials to these runs "
            "and testing again is a second look, not covered by α: use --until_decided."
        )


@dataclass(frozen=True)
class Comparison:
    """One row against its baseline: the paired values (``a`` the row, ``b`` the baseline).

    Attributes:
        name: ``"RoGA vs ERM"``.
        a, b: paired values, same length, same order (NaN pairs are dropped by the test).
        trials_run: the trial seeds the pairs come from.
        pairs_per_trial: run pairs per trial (4 in Table II: one per held-out env).
    """

    name: str
    a: tuple[float, ...]
    b: tuple[float, ...]
    trials_run: int = 0
    pairs_per_trial: float = 1.0

    def __post_init__(self) -> None:
        if len(self.a) != len(self.b):
            raise ValueError(f"{self.name}: {len(self.a)} values against {len(self.b)}")

    @property
    def diffs(self) -> np.ndarray:
        d = np.asarray(self.a, dtype=float) - np.asarray(self.b, dtype=float)
        return d[~np.isnan(d)]


@dataclass(frozen=True)
class Verdict:
    """The decision on one comparison (numbers in data units; :meth:`line` shows points).

    Attributes:
        name: the comparison (``"RoGA vs ERM"``).
        kind: ``"better"``, ``"worse"``, ``"equivalent"`` or ``"undecided"``.
        test: the paired test (n, test name, Δ, s_d, raw p).
        diff, ci: Δ and its 95% t interval.
        p, p_holm: the test's raw and Holm-adjusted p.
        p_tost, p_tost_holm: the TOST p against ±δ, raw and Holm-adjusted.
        level: the Holm level of the row's difference test (α / (m − k + 1)).
        margin: δ in data units.
        need: the trials a new sweep would need (undecided only).
        why_not: why the row cannot be decided at its n whatever the data, or None.
    """

    name: str
    kind: str
    test: PairedTest
    diff: float
    ci: tuple[float, float]
    p: float
    p_holm: float
    p_tost: float
    p_tost_holm: float
    level: float
    margin: float
    scale: float = 100.0
    need: Need | None = None
    why_not: str | None = None
    tost_ci: tuple[float, float] = field(default=(math.nan, math.nan))

    @property
    def n(self) -> int:
        return self.test.n

    @property
    def trials_to_decide(self) -> int | None:
        return self.need.trials if self.need else None

    def label(self) -> str:
        """``better (Wilcoxon)``, ``equivalent within ±1``, ``undecided``."""
        if self.kind in ("better", "worse"):
            return f"{self.kind} ({self.test.test})"
        if self.kind == "equivalent":
            return f"equivalent within ±{self.scale * self.margin:g}"
        return "undecided"

    def numbers(self) -> str:
        """``n=12 run pairs (Wilcoxon), Δ=+3.1 [+0.4, +5.8], p=0.002, Holm p=0.01, TOST Holm
        p=0.4`` (points)."""
        s = self.scale
        lo, hi = (_num(v, "+.1f", s) for v in self.ci)
        return (
            f"n={self.test.n} run pairs ({self.test.test}), Δ={_num(self.diff, '+.1f', s)} "
            f"[{lo}, {hi}], p={_num(self.p, '.3g')}, Holm p={_num(self.p_holm, '.3g')}, "
            f"TOST ±{s * self.margin:g} Holm p={_num(self.p_tost_holm, '.3g')}"
        )

    def line(self) -> str:
        """``RoGA vs ERM: undecided — about 14 trials ... [n=3 run pairs (paired t), ...]``."""
        text = f"{self.name}: {self.label()}"
        if self.kind in ("better", "worse") and self.p_tost_holm < ALPHA:
            text += f" (smaller than ±{self.scale * self.margin:g})"
        if self.kind == "undecided":
            extra = [w for w in (self.why_not, self.need.text() if self.need else None) if w]
            if extra:
                text += " — " + "; ".join(extra)
        return f"{text} [{self.numbers()}]"


def _num(value: float, fmt: str, scale: float = 1.0) -> str:
    return "n/a" if math.isnan(value) else format(scale * value, fmt)


def decide(comparisons: Sequence[Comparison], rule: DecisionRule | None = None) -> list[Verdict]:
    """The verdict of every comparison of one table (Holm across them; see the module doc)."""
    rule = rule or DecisionRule()
    tests = [paired_test(c.a, c.b) for c in comparisons]
    tosts = [tost_paired(c.diffs, rule.delta) for c in comparisons]
    p_holm = holm([t.p for t in tests])
    levels = holm_levels([t.p for t in tests], rule.alpha)
    tost_holm = holm([t.p for t in tosts])
    tost_levels = holm_levels([t.p for t in tosts], rule.alpha)
    out = []
    for i, (c, t) in enumerate(zip(comparisons, tests, strict=True)):
        level = levels[i] if not math.isnan(levels[i]) else rule.alpha
        if p_holm[i] < rule.alpha:
            kind = "better" if t.diff > 0 else "worse"
        elif tost_holm[i] < rule.alpha:
            kind = "equivalent"
        else:
            kind = "undecided"
        need = why = None
        if kind == "undecided":
            why = floor_reason(t, level)
            need = trials_to_decide(
                t,
                level=level,
                margin=rule.delta,
                trials_run=c.trials_run,
                pairs_per_trial=c.pairs_per_trial,
            )
        tl = tost_levels[i]
        out.append(
            Verdict(
                name=c.name,
                kind=kind,
                test=t,
                diff=t.diff,
                ci=t.ci(1 - rule.alpha),
                p=t.p,
                p_holm=p_holm[i],
                p_tost=tosts[i].p,
                p_tost_holm=tost_holm[i],
                level=level,
                margin=rule.delta,
                scale=rule.scale,
                need=need,
                why_not=why,
                tost_ci=t.ci(1 - 2 * tl) if not math.isnan(tl) else (math.nan, math.nan),
            )
        )
    return out
