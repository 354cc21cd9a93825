"""Shared test set-up: Keras 2 before TensorFlow, quiet logs, deterministic seeds."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import prunekit  # noqa: E402,F401  (selects tf_keras before TensorFlow is imported)
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_inter_op_parallelism_threads(1)
tf.config.threading.set_intra_op_parallelism_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    import tf_keras as keras
    keras.utils.set_random_seed(0)
    yield
