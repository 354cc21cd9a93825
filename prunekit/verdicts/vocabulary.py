"""The verdict vocabulary: what a check concluded about one finding, as a frozen value.

A check declares its hypothesis, statistic, test and (for equivalence claims) its margin in
code before it reads any data; a statistical test returns an :class:`Outcome` (the numbers and
the word), and the check names it with :meth:`Outcome.verdict` (finding, claim, check, rows).

Words (issue 13): ``reproduced`` (the test rejects its null in the claimed direction),
``contradicted`` (it rejects in the other direction, or for equivalence shows a difference
beyond the margin), ``inconclusive`` (neither: too few seeds or too small an effect; then
``seeds_needed`` says how many would resolve the observed effect at 80 % power) and
``not measured`` (the rows the check needs are missing).
"""
from __future__ import annotations

import dataclasses
import json
import math

REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_MEASURED = "reproduced", "contradicted", "inconclusive", "not measured"
WORDS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_MEASURED)
NAN = float("nan")


def _clean(value):
    """JSON-ready copy: NaN / inf -> None, tuples -> lists, numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _num(value: float) -> str:
    """Three significant digits, or 3 decimals for values in [0.01, 1000)."""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.3f}" if 0.01 <= abs(value) < 1000 else f"{value:.3g}"


def _p(p: float) -> str:
    return "n/a" if p is None or math.isnan(p) else ("< 0.001" if p < 0.001 else f"= {p:.3f}")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one statistical test found, before it is attached to a finding.

    ``effect`` is in the units of the data (e.g. a mean paired difference), ``ci_low`` /
    ``ci_high`` its confidence interval (level named in ``test``), ``p_value`` the p-value that
    decides ``verdict`` (see each test), ``n`` the sample size (pairs, seeds or points).
    """
    verdict: str
    test: str
    statistic: float = NAN
    effect: float = NAN
    ci_low: float = NAN
    ci_high: float = NAN
    p_value: float = NAN
    n: int = 0
    seeds_needed: int | None = None
    reason: str = ""

    def __post_init__(self):
        if self.verdict not in WORDS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {WORDS}; use one of these words")

    def verdict_for(self, finding: str, claim: str, check: str, rows=()) -> "Verdict":
        """This outcome as the :class:`Verdict` of ``finding`` (``rows``: the row ids it used)."""
        return Verdict(finding=finding, claim=claim, check=check, verdict=self.verdict, test=self.test,
                       statistic=self.statistic, effect=self.effect, ci_low=self.ci_low, ci_high=self.ci_high,
                       p_value=self.p_value, n_seeds=self.n, seeds_needed=self.seeds_needed,
                       rows=tuple(rows), reason=self.reason)


def not_measured(test: str, reason: str) -> Outcome:
    """The outcome of a check whose inputs are missing (``reason`` says which and how to get them)."""
    return Outcome(verdict=NOT_MEASURED, test=test, reason=reason)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One finding's verdict, as ``findings.json`` stores it (one object per finding or cell)."""
    finding: str
    claim: str
    check: str
    verdict: str
    test: str
    statistic: float = NAN
    effect: float = NAN
    ci_low: float = NAN
    ci_high: float = NAN
    p_value: float = NAN
    n_seeds: int = 0
    seeds_needed: int | None = None
    rows: tuple = ()
    reason: str = ""

    def __post_init__(self):
        if self.verdict not in WORDS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {WORDS}; use one of these words")
        if not isinstance(self.rows, tuple):
            object.__setattr__(self, "rows", tuple(self.rows))

    def to_dict(self) -> dict:
        """A JSON-ready dict (NaN -> None)."""
        return _clean(dataclasses.asdict(self))

    def to_json(self) -> str:
        """One JSON object; NaN and infinities become ``null``."""
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    def describe(self) -> str:
        """One sentence a reader understands: the finding, the word, the numbers behind it."""
        head = f"{self.finding} ({self.claim}): {self.verdict}"
        if self.verdict == NOT_MEASURED:
            return f"{head}, because {self.reason or 'the rows it needs are missing'}."
        effect = "" if math.isnan(self.effect) else f"effect {_num(self.effect)}" + (
            "" if math.isnan(self.ci_low) else f" (CI {_num(self.ci_low)} to {_num(self.ci_high)})") + ", "
        p = "" if self.p_value is None or math.isnan(self.p_value) else f", p {_p(self.p_value)}"
        numbers = f"{effect}{self.test}{p}, n = {self.n_seeds}"
        tail = ""
        if self.verdict == INCONCLUSIVE and self.seeds_needed and self.n_seeds < 2:
            tail = f"; a test needs at least {self.seeds_needed} seeds"
        elif self.verdict == INCONCLUSIVE and self.seeds_needed:
            tail = f"; about {self.seeds_needed} seeds would resolve an effect this size at 80 % power"
        why = f" ({self.reason})" if self.reason else ""
        return f"{head}: {numbers}{tail}{why}."
