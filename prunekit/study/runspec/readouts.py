"""The study's own evaluator names: the run's readout, measured in every run.

``accuracy`` (``test_accuracy`` and ``test_loss`` of the run's readout: a supervised loss's
trained classifier head, or for a representation loss a linear probe on the frozen encoder),
``linear_probe`` (that probe's training budget, the same for every arm and every floor:
``C`` the inverse L2 strength, ``max_iter`` lbfgs iterations; see
:func:`prunekit.evaluation.probes.linear_probe_log_probs`), ``sparsity`` (achieved sparsity
over the pruned weights) and ``knn`` (an extra readout of a representation loss,
``knn_test_accuracy``: ``k`` neighbours, cosine similarity) are declared here with their
options; every other evaluator name is one of the suite's
(:data:`prunekit.evaluation.suite.EVALUATORS`). A study cannot use the suite's own
``accuracy`` evaluator under that name: in a study config ``accuracy`` is the readout.
"""
from __future__ import annotations

import numbers


def _positive_int(value) -> str:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
    return "" if ok else f"must be an integer >= 1, got {value!r}"


def _positive_number(value) -> str:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0
    return "" if ok else f"must be a number > 0, got {value!r}"


# name -> {option: (default, check(value) -> '' or the problem)}
READOUTS = {
    "accuracy": {},
    "linear_probe": {"C": (1.0, _positive_number), "max_iter": (1000, _positive_int)},
    "sparsity": {},
    "knn": {"k": (20, _positive_int)},
}


def budget(evaluation: dict) -> str:
    """The linear probe's training budget in words (the report's budget table)."""
    return (f"lbfgs max_iter {option(evaluation, 'linear_probe', 'max_iter')}, "
            f"C {option(evaluation, 'linear_probe', 'C'):g}")


def option(evaluation: dict, name: str, key: str):
    """The configured value of a readout option, or its default."""
    return dict(evaluation.get(name) or {}).get(key, READOUTS[name][key][0])


def problems(name: str, options: dict, suggest) -> list[str]:
    """One-line problems of the options given to readout ``name``."""
    declared = READOUTS[name]
    out = []
    for key, value in dict(options or {}).items():
        if key not in declared:
            valid = ", ".join(declared) or "none (it is the run's readout, always measured)"
            out.append(f"evaluation.{name}: no option {key!r}{suggest(key, declared)}; valid: {valid}")
            continue
        problem = declared[key][1](value)
        if problem:
            out.append(f"evaluation.{name}.{key} {problem}")
    return out


__all__ = ["READOUTS", "budget", "option", "problems"]
