"""prunekit: when and how to prune, as Keras experiments.

Public model.fit integration::

    pruned = prunekit.wrap(model)        # a copy: `model` stays as it is
    pruned.fit(ds, callbacks=[prunekit.PruningCallback(criterion="qm", schedule=..., data=...)])
    final = prunekit.strip(pruned)       # an independent plain model

``schedule`` is a :mod:`prunekit.timing` timing (``OneShot``, ``Gradual``, ``Iterative``,
``Hold``); the callback side lives in :mod:`prunekit.pruning`.
"""
from prunekit import _backend

_backend.select_legacy_keras()

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy so that `import prunekit` stays cheap and never imports TensorFlow by itself.
    if name in ("wrap", "strip", "PruningCallback"):
        from prunekit import keras as _keras

        return getattr(_keras, name)
    if name in ("schedules", "registry", "criteria", "masks", "statistics", "models", "data",
                "evaluation", "losses", "timing", "prunable", "pruning", "checkpoint"):
        import importlib

        return importlib.import_module(f"prunekit.{name}")
    raise AttributeError(f"module 'prunekit' has no attribute {name!r}")


__all__ = ["wrap", "strip", "PruningCallback", "schedules", "registry", "__version__"]
