"""Verdicts written out: ``findings.json`` (one object per finding) and the report's sentences.

Pure functions returning text; the study decides where to write it.
"""
from __future__ import annotations

import json

from prunekit.verdicts.vocabulary import Verdict


def _checked(verdicts) -> list[Verdict]:
    out = list(verdicts)
    bad = [type(v).__name__ for v in out if not isinstance(v, Verdict)]
    if bad:
        raise TypeError(f"expected Verdict objects, got {', '.join(sorted(set(bad)))}; "
                        "turn an Outcome into one with outcome.verdict_for(finding, claim, check, rows)")
    return out


def findings_json(verdicts) -> str:
    """A JSON list, one object per verdict in the given order (NaN -> null), ending in a newline."""
    return json.dumps([v.to_dict() for v in _checked(verdicts)], indent=1, sort_keys=True, allow_nan=False) + "\n"


def markdown(verdicts) -> str:
    """One bullet per verdict: its sentence, then one indented bullet per cell it combined."""
    lines = []
    for v in _checked(verdicts):
        lines.append(f"- {v.describe()}")
        for cell in v.rows:
            if isinstance(cell, dict) and "verdict" in cell:
                lines.append(f"  - {cell['check']}: {cell['verdict']}"
                             + (f" (p {cell['p_value']:.3g})" if cell.get("p_value") is not None else ""))
    return "\n".join(lines) + ("\n" if lines else "")
