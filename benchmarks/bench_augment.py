"""Does on-the-fly augmentation starve SimCLR training? Target: ratio <= 1.3.

Steady-state epoch time of SimCLR on the digits (1,797 8x8 images, tiled to 3 channels so the
full recipe runs: resized crop, flip, colour jitter, grayscale) fed by the plugin's tf.data
pipeline (per-batch stateless seeds, AUTOTUNE parallel map, prefetch), divided by the same
epoch fed pre-computed views of the same shape (cached tensors, prefetch), same run, same
model. Both feeds are repeated datasets fitted with ``steps_per_epoch`` (the plugin's
``training_data(..., repeat=True)``: one tf.data pipeline, optimised once, across the epochs of
a fit). Each timed fit runs EPOCHS_PER_FIT epochs; its epoch time is the fit's wall time over
its epochs (the pipeline's start counted in); fits alternate between the feeds (machine load
drifts), after one warm-up fit each; medians over the rounds.

    .venv/bin/python benchmarks/bench_augment.py [MODEL]   # default convnet: about 1 minute on 2 CPU cores
"""
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import prunekit  # noqa: E402,F401  (tf_keras before TensorFlow)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from prunekit import models, registry  # noqa: E402
from prunekit.losses import encoder_of  # noqa: E402

TARGET = 1.3
ROUNDS = 3
EPOCHS_PER_FIT = 3
BATCH = 256
MODEL = sys.argv[1] if len(sys.argv) > 1 else "convnet"  # prunekit.models name, e.g. wrn


def encoder():
    model = models.build(MODEL, input_shape=(8, 8, 3), num_classes=10, seed=0)
    return encoder_of(model, "features")


def steady_epochs(plugin, feeds: dict, steps: int) -> dict:
    """Median over rounds of the epoch seconds (a fit's wall time / its epochs) per feed."""
    fitted = {}
    for name in feeds:
        model = plugin.build_model(encoder())
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9), loss=plugin.loss())
        model.fit(feeds[name], epochs=1, steps_per_epoch=steps, verbose=0)  # warm-up: tracing
        fitted[name] = model
    times = {name: [] for name in feeds}
    for _ in range(ROUNDS):
        for name, model in fitted.items():
            start = time.perf_counter()
            model.fit(feeds[name], epochs=EPOCHS_PER_FIT, steps_per_epoch=steps, verbose=0)
            times[name].append((time.perf_counter() - start) / EPOCHS_PER_FIT)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> int:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.repeat((digits.images / 16.0).astype("float32")[..., None], 3, axis=-1)
    y = digits.target.astype("int64")
    plugin = registry.get_loss("simclr", projection_dims=(64, 64))
    source = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
    one_epoch = plugin.training_data(source, batch_size=BATCH)
    # The same pipeline's output for one epoch, materialised: views without augmentation cost.
    batches = list(one_epoch)
    cached = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=one_epoch.element_spec)
    cached = cached.cache()
    list(cached)  # fill the cache
    live = plugin.training_data(source, batch_size=BATCH, repeat=True)
    medians = steady_epochs(plugin, {"cached": cached.repeat().prefetch(tf.data.AUTOTUNE), "live": live},
                            len(batches))
    t_cached, t_live = medians["cached"], medians["live"]
    ratio = t_live / t_cached
    print(f"SimCLR epoch, {MODEL} on digits (batch {BATCH}, {len(batches)} steps): "
          f"augmented on the fly {t_live * 1000:.0f} ms, pre-computed views {t_cached * 1000:.0f} ms")
    print(f"ratio {ratio:.2f} (target <= {TARGET}): {'PASS' if ratio <= TARGET else 'FAIL'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
