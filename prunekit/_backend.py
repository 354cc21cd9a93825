"""Keras 2 (tf_keras) selection: the one environment change TensorFlow needs first.

prunekit wraps models with tfmot, which works on Keras 2 only. With TensorFlow >= 2.16,
``tf.keras`` is Keras 2 only when ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow is
imported.
"""
from __future__ import annotations

import os
import sys

KERAS3_FIX = (
    "import prunekit before tensorflow, or set TF_USE_LEGACY_KERAS=1 in the environment "
    "before starting Python, and build the model with tf_keras (tf.keras)"
)


class Keras3Error(ImportError, TypeError):
    """Keras 3 is active or a Keras 3 model was given; prunekit needs tf_keras."""


def select_legacy_keras() -> None:
    """Set TF_USE_LEGACY_KERAS=1 if TensorFlow is not imported yet, else verify it took."""
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        return
    import tensorflow as tf

    version = getattr(tf.keras, "__version__", "") or ""
    if version.startswith("3"):
        keras3 = str(getattr(sys.modules.get("keras"), "__version__", "")).startswith("3")
        who = ("`import keras` (Keras 3) imported TensorFlow" if keras3 else "TensorFlow was imported")
        raise Keras3Error(
            f"prunekit needs Keras 2 (tf_keras) but tf.keras is Keras {version}, because "
            f"{who} before prunekit without TF_USE_LEGACY_KERAS=1: {KERAS3_FIX}."
        )


def require_tf_keras_model(model, what: str = "model") -> None:
    """Fail clearly unless ``model`` is a tf_keras model."""
    import tf_keras

    if isinstance(model, tf_keras.Model):
        return
    module = type(model).__module__
    if module.startswith("keras"):
        raise Keras3Error(keras3_model_message(model, what))
    raise TypeError(f"the {what} must be a tf_keras.Model, got {type(model).__name__}.")


def keras3_model_message(model, what: str = "model") -> str:
    """Why ``model`` is a Keras 3 model, and the fix that applies where the user is."""
    tf = sys.modules.get("tensorflow")
    tf_keras_is_3 = tf is not None and str(getattr(tf.keras, "__version__", "")).startswith("3")
    if tf_keras_is_3:
        cause = ("tf.keras is Keras 3 because TensorFlow was imported before prunekit without "
                 "TF_USE_LEGACY_KERAS=1")
        fix = KERAS3_FIX
    else:
        cause = (f"it was built with the `keras` package ({type(model).__module__}), which is Keras 3 "
                 "(`import keras`)")
        fix = ("build it with tf_keras instead: `import tf_keras as keras` (or tf.keras after "
               "importing prunekit)")
    return (f"the {what} is a Keras 3 model ({type(model).__name__}): {cause}; prunekit needs "
            f"tf_keras: {fix}.")
