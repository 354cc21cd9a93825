"""The findings checks the report knows, by name, with one signature::

    check(summary, pies, population) -> str   # one sentence on what this study measured

``summary`` is summary.csv as a DataFrame, ``pies`` the PIE table, ``population`` the
:class:`prunekit.study.analysis.population.Population` metrics. A check lives in the
``findings_*`` module of its topic and is registered in that module's ``CHECKS``; this module
only merges them, so adding a check touches its own module only.
"""
from __future__ import annotations

from prunekit.study.report import findings_locality, findings_masks, findings_population, findings_timing

CHECKS = {**findings_timing.CHECKS, **findings_population.CHECKS, **findings_locality.CHECKS,
          **findings_masks.CHECKS}


def names() -> list:
    return sorted(CHECKS)


def run_check(name, summary, pies, pop) -> str:
    """The sentence of check ``name``; a check that fails says so instead of breaking the report."""
    check = CHECKS.get(name or "")
    if check is None:
        return "not measured automatically by this study"
    if summary is None or summary.empty:
        return "not measured (no finished runs)"
    try:
        return check(summary, pies, pop)
    except Exception as e:  # never lose the report over one check
        return f"not measured (the check failed: {type(e).__name__}: {e})"


__all__ = ["CHECKS", "names", "run_check"]
