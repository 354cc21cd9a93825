"""Per-run evaluators, configured by name from a study.

Every evaluator is an :class:`Evaluator`: a function with the signature::

    evaluator(model, data, **options) -> {metric_name: float | int | np.ndarray}

and its declarations: its options (the keyword-only parameters, with their defaults), the
per-run metrics it returns (scalars; ``psp_entropy/*`` for names with a layer) and its
per-example arrays (one value per test example, kept for population metrics). The study's
validation, its run and its report read these declarations; adding an evaluator is one
function plus one ``Evaluator(...)`` line in ``EVALUATORS``.

``model`` is a tf_keras model (tfmot-wrapped or not); ``data`` is a data bundle
(``{"train": (x, y) | tf.data.Dataset, "test": ..., "num_classes": int (optional)}``, see
:mod:`prunekit.evaluation._inputs`). Options are keyword-only, so an unknown option in a
config fails loudly with a TypeError. Population metrics (PIEs, mask IoU, mean / CI over
seeds) and function preservation combine several runs or events and are pure functions on
saved arrays instead (:func:`pies`, :func:`mask_iou`, :func:`mean_ci`,
:func:`function_preservation`).
"""
from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import inspect
from typing import Callable

import numpy as np

from prunekit.evaluation import preservation, probes, qscore

# The package re-exports functions named like their modules (``prediction_depth`` ...), which
# shadow the submodules as package attributes; fetch the modules themselves.
_pd, _psp, _sharp, _size = (importlib.import_module(f"prunekit.evaluation.{m}") for m in
                            ("prediction_depth", "psp_entropy", "sharpness", "size"))
from prunekit.evaluation._inputs import batched, num_classes, split_arrays


def _outputs(model, x, batch_size):
    (out,) = batched(lambda xb: model(xb, training=False), x, batch_size)
    return out


def accuracy(model, data, *, split: str = "test", batch_size: int = 256, from_logits=None,
             max_examples: int | None = None) -> dict:
    """Top-1 ``accuracy`` and mean cross-entropy ``loss`` on a split."""
    x, y = split_arrays(data, split, max_examples)
    loss, acc = preservation.loss_and_accuracy(_outputs(model, x, batch_size), y, from_logits)
    return {"accuracy": acc, "loss": loss}


def representation_probes(model, data, *, layer: str = "features", k: int = 20,
                          metric: str = "cosine", max_train: int | None = None,
                          train_split: str = "train", test_split: str = "test",
                          batch_size: int = 256) -> dict:
    """Linear-probe and k-NN accuracy of the frozen ``layer`` features (fit on
    ``train_split``, scored on ``test_split``; name other splits for transfer probes)."""
    xtr, ytr = split_arrays(data, train_split, max_train)
    xte, yte = split_arrays(data, test_split)
    ftr = probes.model_features(model, xtr, layer, batch_size)
    fte = probes.model_features(model, xte, layer, batch_size)
    return {"linear_probe_accuracy": probes.linear_probe(ftr, ytr, fte, yte)["accuracy"],
            "knn_accuracy": probes.knn_accuracy(ftr, ytr, fte, yte, k, metric=metric)}


def transfer(model, data=None, *, dataset: str, data_dir: str | None = None, layer: str = "features",
             k: int = 20, metric: str = "cosine", max_train: int | None = None,
             batch_size: int = 256) -> dict:
    """Transfer of the frozen ``layer`` features to another labelled dataset (paper B's linear
    evaluation, Caron et al. 2020): a logistic-regression probe and a k-NN classifier fitted
    on ``dataset``'s train split and scored on its test split (``probe_accuracy``,
    ``knn_accuracy``). The run's own data are not used; e.g. digits/0-4 -> digits/5-9.
    ``data_dir`` defaults to the data bundle's ``"data_dir"`` (the study's)."""
    from prunekit import data as datasets

    if data_dir is None and isinstance(data, dict):
        data_dir = data.get("data_dir")  # the study's data directory
    xtr, ytr = datasets.as_arrays(dataset, "train", data_dir)
    xte, yte = datasets.as_arrays(dataset, "test", data_dir)
    if max_train is not None:
        xtr, ytr = xtr[:max_train], ytr[:max_train]
    ftr = probes.model_features(model, xtr, layer, batch_size)
    fte = probes.model_features(model, xte, layer, batch_size)
    return {"probe_accuracy": probes.linear_probe(ftr, ytr, fte, yte)["accuracy"],
            "knn_accuracy": probes.knn_accuracy(ftr, ytr, fte, yte, k, metric=metric)}


def q_score(model, data, *, layer: str = "features", ddof: int = 1, batch_size: int = 256) -> dict:
    """Per-example Q-Score of the test split at ``layer`` and its mean."""
    x, _ = split_arrays(data, "test")
    q = qscore.q_score(probes.model_features(model, x, layer, batch_size), ddof=ddof)
    return {"q_score": q, "q_score_mean": float(np.nanmean(q))}


def prediction_depth(model, data, *, k: int = 30, layers=None, max_train: int | None = None,
                     batch_size: int = 256) -> dict:
    """Per-example prediction depth on the test split, both variants, and their means."""
    xtr, ytr = split_arrays(data, "train", max_train)
    xte, yte = split_arrays(data, "test")
    names = list(layers) if layers is not None else _pd.probe_layers(model)
    final = _outputs(model, xte, batch_size).argmax(1)
    res = _pd.prediction_depth(_pd.layer_representations(model, xtr, names, batch_size), ytr,
                               _pd.layer_representations(model, xte, names, batch_size), final,
                               k, true_labels=yte)
    return {"prediction_depth": res.baldock, "pd_score": res.pd_score,
            "prediction_depth_mean": float(res.baldock.mean()),
            "pd_score_mean": float(res.pd_score.mean()), "probed_layers": np.asarray(names)}


def psp_entropy(model, data, *, layers=None, batch_size: int = 256) -> dict:
    """PSP-entropy of each layer on the test split (``psp_entropy/<layer>`` mean and
    ``psp_entropy_units/<layer>`` per unit) and ``psp_entropy`` averaged over layers."""
    x, y = split_arrays(data, "test")
    res = _psp.model_psp_entropy(model, x, y, num_classes(data, y), layers, batch_size)
    out = {f"psp_entropy/{n}": r["mean"] for n, r in res.items()}
    out.update({f"psp_entropy_units/{n}": r["per_unit"] for n, r in res.items()})
    out["psp_entropy"] = float(np.mean([r["mean"] for r in res.values()])) if res else float("nan")
    return out


def sharpness(model, data, *, radius: float = 0.05, num_directions: int = 5, seed: int = 0,
              split: str = "train", max_examples: int | None = 1000, keep_pruned: bool = True,
              batch_size: int = 256) -> dict:
    """Mean loss increase under filter-normalised random perturbations (see sharpness.py)."""
    res = _sharp.sharpness(model, split_arrays(data, split, max_examples), radius,
                           num_directions, seed, keep_pruned=keep_pruned, batch_size=batch_size)
    return {"sharpness": res["mean"], "sharpness_per_direction": res["per_direction"]}


def size(model, data=None, *, dense_model=None, compressed: bool = True) -> dict:
    """Sparsity, non-zero parameters, dense / sparse FLOPs, gzip bytes (vs ``dense_model``)."""
    out = {f"sparsity/{n}": v for n, v in _size.sparsity(model).items()}
    out["sparsity"] = out.pop("sparsity/overall")
    nnz = _size.nonzero_parameters(model)
    fl = _size.flops(model)
    out.update({"nonzero_parameters": nnz["nonzero"], "parameters": nnz["total"],
                "flops_dense": fl["dense"], "flops_sparse": fl["sparse"]})
    if compressed:
        out["gzip_bytes"] = _size.gzip_size(model)
        if dense_model is not None:
            out["gzip_bytes_dense"] = _size.gzip_size(dense_model)
            out["gzip_ratio"] = out["gzip_bytes_dense"] / out["gzip_bytes"]
    return out


@dataclasses.dataclass(frozen=True)
class Evaluator:
    """An evaluator function with its declarations: ``metrics`` (per-run scalars, glob
    patterns allowed), ``per_example`` (arrays over the test examples) and ``arrays`` (other
    arrays it returns, not kept by a study)."""
    name: str
    fn: Callable
    metrics: tuple
    per_example: tuple = ()
    arrays: tuple = ()

    def __call__(self, model, data=None, **options):
        return self.fn(model, data, **options)

    def options(self) -> dict:
        """``{option: default}`` (``inspect.Parameter.empty`` for a required one)."""
        params = inspect.signature(self.fn).parameters
        return {p: v.default for p, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY}

    def required(self) -> list:
        return [p for p, d in self.options().items() if d is inspect.Parameter.empty]

    def _declared(self, key: str, names) -> bool:
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in names)

    def split(self, out: dict):
        """``(metrics, per_example)`` of one result: the declared scalar metrics (NumPy
        scalars as Python numbers) and the declared per-example arrays; an undeclared key is
        an error in the evaluator."""
        metrics, per_example = {}, {}
        for key, value in out.items():
            if self._declared(key, self.per_example):
                per_example[key] = np.asarray(value)
            elif self._declared(key, self.metrics):
                metrics[key] = value.item() if np.ndim(value) == 0 and hasattr(value, "item") else value
            elif not self._declared(key, self.arrays):
                raise ValueError(f"evaluator {self.name!r} returned {key!r}, which it does not declare.")
        return metrics, per_example


EVALUATORS = {e.name: e for e in (
    Evaluator("accuracy", accuracy, metrics=("accuracy", "loss")),
    Evaluator("probes", representation_probes, metrics=("linear_probe_accuracy", "knn_accuracy")),
    Evaluator("transfer", transfer, metrics=("probe_accuracy", "knn_accuracy")),
    Evaluator("q_score", q_score, metrics=("q_score_mean",), per_example=("q_score",)),
    Evaluator("prediction_depth", prediction_depth, metrics=("prediction_depth_mean", "pd_score_mean"),
              per_example=("pd_score", "prediction_depth"), arrays=("probed_layers",)),
    Evaluator("psp_entropy", psp_entropy, metrics=("psp_entropy", "psp_entropy/*"),
              arrays=("psp_entropy_units/*",)),
    Evaluator("sharpness", sharpness, metrics=("sharpness",), arrays=("sharpness_per_direction",)),
    Evaluator("size", size, metrics=("sparsity", "sparsity/*", "nonzero_parameters", "parameters", "flops_dense",
                                     "flops_sparse", "gzip_bytes", "gzip_bytes_dense", "gzip_ratio")),
)}


def per_example_names() -> tuple:
    """Every per-example array the suite's evaluators declare, in declaration order."""
    return tuple(n for e in EVALUATORS.values() for n in e.per_example)


def evaluate(name: str, model, data, **options) -> dict:
    """Run the evaluator registered as ``name``."""
    if name not in EVALUATORS:
        raise KeyError(f"unknown evaluator {name!r}; known: {sorted(EVALUATORS)}.")
    return EVALUATORS[name](model, data, **options)


def evaluate_all(config: dict, model, data) -> dict:
    """``{name: evaluate(name, model, data, **options)}`` for ``config = {name: options}``."""
    return {name: evaluate(name, model, data, **(opts or {})) for name, opts in config.items()}
