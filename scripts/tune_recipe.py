"""Floors and dense readouts of a study config's recipe (issue 13 item 6, issue 14 item 4).

Trains the config's dense runs (exactly as the study does: prunekit.study.execute.train) for
the chosen losses and seeds, then prints, on the test split:

- ``head``: the loss plugin's classifier head (cross-entropy only);
- ``probe`` / ``knn``: a logistic-regression linear probe (prunekit.evaluation.probes:
  scikit-learn, standardised features, C = 1) and cosine k-NN (k = 20) on the frozen
  encoder's ``features``;
- the floors on the same readouts: raw inputs (flattened) and the untrained encoder of the
  same model and seed.

Usage (any config field as ``key=value``, Python literals)::

    .venv/bin/python scripts/tune_recipe.py configs/ssl_masks.py:digits --losses=cross_entropy,simclr \
        --seeds=0,1 train.epochs=20 train.learning_rate=0.1
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def load_config(path_variant: str, overrides: list[str]):
    path, _, variant = path_variant.partition(":")
    spec = importlib.util.spec_from_file_location("cfg", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    c = mod.get_config(variant or None)
    for item in overrides:
        key, _, raw = item.partition("=")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        node = c
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        with node.unlocked() if hasattr(node, "unlocked") else _null():
            node[leaf] = value
    return c


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def readouts(features_train, y_train, features_test, y_test) -> dict:
    from prunekit.evaluation import probes

    return {"probe": probes.linear_probe(features_train, y_train, features_test, y_test)["accuracy"],
            "knn": probes.knn_accuracy(features_train, y_train, features_test, y_test, k=20)}


def flat(x):
    return x.reshape(len(x), -1)


def measure(spec, out_dir: str) -> dict:
    """Trains ``spec`` (a dense run) and returns its readouts and the untrained floor."""
    import numpy as np

    from prunekit.evaluation import probes
    from prunekit.study.execute import run as run_lib, train

    data = run_lib.load(spec)
    prepared = train.prepare(spec, data, out_dir)
    untrained = readouts(probes.model_features(prepared.model, data.x_train), data.y_train,
                         probes.model_features(prepared.model, data.x_test), data.y_test)
    t0 = time.perf_counter()
    trained = train.train(spec, data, prepared)
    seconds = time.perf_counter() - t0
    model = prepared.model
    out = {"untrained_" + k: v for k, v in untrained.items()}
    out.update(readouts(probes.model_features(model, data.x_train), data.y_train,
                        probes.model_features(model, data.x_test), data.y_test))
    if prepared.classifier:
        logits = model.predict(data.x_test, batch_size=512, verbose=0)
        out["head"] = float((np.argmax(logits, -1) == np.asarray(data.y_test).reshape(-1)).mean())
    out["final_loss"] = float(trained.history["loss"][-1])
    out["train_s"] = seconds
    return out, data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="configs/NAME.py:VARIANT")
    ap.add_argument("--losses", default="", help="comma-separated loss labels ('' = all)")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds")
    ap.add_argument("overrides", nargs="*", help="config fields key=value")
    args = ap.parse_intermixed_args(argv)

    import prunekit  # noqa: F401
    from prunekit.study.runspec import grid

    c = load_config(args.config, args.overrides)
    with c.unlocked() if hasattr(c, "unlocked") else _null():
        c.seeds = tuple(int(s) for s in args.seeds.split(","))
        c.tensorboard = False
    specs = [s for s in grid.expand(c) if not s.pruned]
    if args.losses:
        keep = set(args.losses.split(","))
        specs = [s for s in specs if s.loss.label in keep]
    print(f"# {args.config} {' '.join(args.overrides)}", flush=True)
    raw_done = set()
    for spec in specs:
        with tempfile.TemporaryDirectory() as tmp:
            out, data = measure(spec, tmp)
        if spec.dataset not in raw_done:
            raw_done.add(spec.dataset)
            raw = readouts(flat(data.x_train), data.y_train, flat(data.x_test), data.y_test)
            print(f"{spec.dataset} raw inputs: probe {raw['probe']:.3f} knn {raw['knn']:.3f}", flush=True)
        print(f"{spec.loss.label:>14} seed {spec.seed}: " + " ".join(
            f"{k} {v:.3f}" for k, v in out.items()), flush=True)


if __name__ == "__main__":
    sys.exit(main())
