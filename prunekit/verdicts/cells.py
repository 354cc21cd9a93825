"""Per-cell comparisons over results.jsonl rows, shared by the finding checks.

A cell fixes everything but the compared factor (e.g. loss, criterion and sparsity when
gradual is compared with one-shot); the two arms of a cell are paired by seed
(:func:`prunekit.verdicts.rows.pair_by_seed`) and tested with a paired difference test or TOST.
Cells are never pooled: :func:`prunekit.verdicts.family.combine_cells` turns them into one
verdict by the rule the finding declares.
"""
from __future__ import annotations

from prunekit.verdicts import paired
from prunekit.verdicts.family import combine_cells
from prunekit.verdicts.rows import matches, pair_by_seed, usable, values
from prunekit.verdicts.vocabulary import NOT_MEASURED, Outcome, Verdict, not_measured


def cell_values(rows, keys, where: dict) -> list[dict]:
    """The distinct combinations of ``keys`` among the ok rows matching ``where``, in sorted order."""
    seen = {tuple(r.get(k) for k in keys) for r in rows if r.get("status") == "ok" and matches(r, where)}
    return [dict(zip(keys, v)) for v in sorted(seen, key=lambda t: tuple((x is None, str(x)) for x in t))]


def _label(cell: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in cell.items())


def compare(rows, finding: str, claim: str, metric: str, arm_a: dict, arm_b: dict, keys, *,
            direction: str | None = "greater", margin: float | None = None, where: dict | None = None,
            cell_in_b: bool = True, matched: str | None = None, alpha: float = 0.05) -> list[Verdict]:
    """One verdict per cell (combination of ``keys`` present in arm a): arm a vs arm b on ``metric``.

    A cell that reads a row marked ``below_floor`` (:func:`prunekit.verdicts.floors.mark`) is
    ``not measured`` with that reason; with ``matched`` (a budget field such as
    ``optimizer_steps``) so is a cell whose two arms differ in it (unequal budgets).

    With ``cell_in_b=False`` the cell selects arm a's rows only (arm b is a reference such as
    the dense model of the same seed).

    ``direction`` ('greater' / 'less') runs :func:`paired.paired_difference`; with ``margin``
    (and ``direction=None``) it runs the TOST :func:`paired.equivalence` instead.
    """
    if (margin is None) == (direction is None):
        raise ValueError("give either direction ('greater' / 'less': a difference test) or margin "
                         "(with direction=None: an equivalence test), not both or neither")
    where = dict(where or {})
    out = []
    for cell in cell_values(usable(rows, metric), keys, {**where, **arm_a}):
        in_b = cell if cell_in_b else {}
        a_where, b_where = {**where, **cell, **arm_a}, {**where, **in_b, **arm_b}
        a, b, ids = pair_by_seed(rows, metric, a_where, b_where)
        blocked = _blocked(usable(rows, metric, **a_where), usable(rows, metric, **b_where), matched)
        if blocked:
            result = Outcome(NOT_MEASURED, "paired by seed", n=len(a), reason=blocked)
        elif len(a) == 0:
            result = not_measured("paired by seed", f"no seed with {metric} in both arms")
        elif margin is not None:
            result = paired.equivalence(a, b, margin, alpha)
        else:
            result = paired.paired_difference(a, b, direction, alpha)
        out.append(result.verdict_for(finding, claim, f"{metric}: {_label(arm_a)} vs {_label(arm_b)} at {_label(cell)}",
                                      ids))
    return out


def _blocked(rows_a, rows_b, matched: str | None) -> str:
    """Why a cell cannot be measured: a group below its floors, or arms with unequal budgets."""
    low = [r["below_floor"] for r in list(rows_a) + list(rows_b) if r.get("below_floor")]
    if low:
        return "; ".join(dict.fromkeys(low))
    if matched:
        budget_a = sorted({r[matched] for r in rows_a if r.get(matched) is not None})
        budget_b = sorted({r[matched] for r in rows_b if r.get(matched) is not None})
        if budget_a and budget_b and budget_a != budget_b:
            return (f"unequal budgets: {matched} {', '.join(map(str, budget_a))} vs {', '.join(map(str, budget_b))}; "
                    f"give the compared arms the same training budget")
    return ""


def combined(cells, finding: str, claim: str, check: str, rule: str, missing: str, alpha: float = 0.05) -> Verdict:
    """:func:`combine_cells`, or ``not measured`` with ``missing`` as the reason when there is no cell."""
    cells = list(cells)
    if not cells:
        return Verdict(finding, claim, check, NOT_MEASURED, "per-cell paired tests", reason=missing)
    return combine_cells(cells, finding, claim, check, rule=rule, alpha=alpha)


def labels(rows, key: str, **where) -> list:
    """Distinct values of ``key`` over the ok rows matching ``where``."""
    return values([r for r in rows if r.get("status") == "ok" and matches(r, where)], key)
