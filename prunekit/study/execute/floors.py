"""The floors a trained model must clear (issue 13, item 6), measured once per study.

On the study's own readout (:func:`prunekit.study.execute.measure.probe_readout`: the linear
probe with the config's ``linear_probe`` budget, and its k-NN accuracy), two feature sets that
involve no training of the encoder:

- ``raw_input``: the flattened input pixels / samples (one value per dataset: the probe is
  deterministic);
- ``random_encoder``: the study's model at its random initialisation (per seed of the study:
  the same initialisation its runs start from), read at its representation layer.

A trained model that does not beat these has learned nothing the readout could not get
without it. :func:`write` stores them in ``floors.json`` in the work directory;
``--report_only`` reads that file (:mod:`prunekit.study.analysis.floors`) and never retrains (:mod:`prunekit.verdicts.floors` judges
the groups against it).
"""
from __future__ import annotations

import json
import os
import sys


from prunekit.study.analysis.floors import FILE, read
from prunekit.study.store import rundir

FEATURES = ("raw_input", "random_encoder")


def _key(spec) -> dict:
    """What a floor depends on: data, model, seed and the readout budget."""
    return {"dataset": spec.dataset, "data_dir": spec.data_dir, "model": spec.model,
            "model_options": dict(spec.model_options), "seed": spec.seed,
            "evaluation": {k: dict(v or {}) for k, v in spec.evaluation.items() if k in ("linear_probe", "knn")}}


def _random_encoder_features(spec, data):
    import tf_keras as keras

    from prunekit import models

    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.seed)
    base = models.build(spec.model, data.x_train.shape[1:], data.num_classes, seed=spec.seed, **spec.model_options)
    encoder = models.feature_model(base)
    return (encoder.predict(data.x_train, batch_size=1024, verbose=0),
            encoder.predict(data.x_test, batch_size=1024, verbose=0))


def measure(specs) -> list:
    """One row per (dataset, model, features, seed) of ``specs`` (RunSpecs):
    ``{dataset, model, features, seed, test_accuracy, test_loss, knn_test_accuracy}``
    (``seed`` None for ``raw_input``)."""
    from prunekit.study.execute.measure import probe_readout
    from prunekit.study.execute.run import load

    from prunekit.study.runspec.types import RunSpec

    out, seen, raw_done = [], set(), set()
    for spec in (RunSpec.coerce(s) for s in specs):
        key = json.dumps(_key(spec), sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        data = load(spec)
        feature_sets = []
        if (spec.dataset, spec.model) not in raw_done:
            raw_done.add((spec.dataset, spec.model))
            feature_sets.append(("raw_input", None, data.x_train, data.x_test))
        feature_sets.append(("random_encoder", spec.seed, *_random_encoder_features(spec, data)))
        for name, seed, f_train, f_test in feature_sets:
            metrics, _ = probe_readout(spec.evaluation, f_train, data.y_train, f_test, data.y_test,
                                       data.num_classes)
            out.append({"dataset": spec.dataset, "model": spec.model, "features": name, "seed": seed,
                        **{k: metrics[k] for k in ("test_accuracy", "test_loss", "knn_test_accuracy")}})
    return out


def write(workdir: str, specs) -> dict | None:
    """Measures the floors of ``specs`` (one per distinct data / model / seed / readout budget)
    and writes floors.json, unless the saved one was measured for the same keys."""
    from prunekit.study.runspec import readouts

    from prunekit.study.runspec.types import RunSpec

    specs = [RunSpec.coerce(s) for s in specs]
    keys = sorted({json.dumps(_key(s), sort_keys=True) for s in specs})
    saved = read(workdir)
    if saved is not None and saved.get("keys") == keys:
        return saved
    budget = sorted({readouts.budget(s.evaluation) for s in specs})
    try:
        measured = measure(specs)
    except Exception as e:  # the runs are done: report them, say the floors are missing and why
        print(f"floors not measured ({type(e).__name__}: {e}); report.md says no group was checked",
              file=sys.stderr, flush=True)
        return None
    doc = {"keys": keys, "readout_budget": budget, "rows": measured}
    rundir.write_text(os.path.join(workdir, FILE), json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc


__all__ = ["FEATURES", "measure", "write"]
