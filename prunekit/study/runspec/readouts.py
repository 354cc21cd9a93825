"""The study's own evaluator names: the run's readout, measured in every run.

``accuracy`` (test accuracy and loss of the classifier output, or of the k-NN readout),
``sparsity`` (achieved sparsity over the pruned weights) and ``knn`` (the k-NN readout of a
representation loss: ``k`` neighbours, cosine similarity) are declared here with their
options; every other evaluator name is one of the suite's
(:data:`prunekit.evaluation.suite.EVALUATORS`). A study cannot use the suite's own
``accuracy`` evaluator under that name: in a study config ``accuracy`` is the readout.
"""
from __future__ import annotations

import numbers


def _positive_int(value) -> str:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
    return "" if ok else f"must be an integer >= 1, got {value!r}"


# name -> {option: (default, check(value) -> '' or the problem)}
READOUTS = {
    "accuracy": {},
    "sparsity": {},
    "knn": {"k": (20, _positive_int)},
}


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


__all__ = ["READOUTS", "option", "problems"]
