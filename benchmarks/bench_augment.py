"""Does on-the-fly augmentation starve SimCLR training? Target: ratio <= 1.3.

Steady-state epoch time of SimCLR on the digits (1,797 8x8 images, tiled to 3 channels so the
full recipe runs: resized crop, flip, colour jitter, grayscale) fed by the plugin's tf.data
pipeline (per-batch stateless seeds, AUTOTUNE parallel map, prefetch), divided by the same
epoch fed pre-computed views of the same shape (cached tensors, prefetch), same run, same
model. Medians of alternating epochs after one warm-up epoch each.

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
EPOCHS = 7
BATCH = 256
MODEL = sys.argv[1] if len(sys.argv) > 1 else "convnet"  # prunekit.models name, e.g. wrn


def encoder():
    model = models.build(MODEL, input_shape=(8, 8, 3), num_classes=10, seed=0)
    return encoder_of(model, "features")


def steady_epochs(plugin, feeds: dict) -> dict:
    """Median epoch seconds per feed; epochs alternate between feeds (machine load drifts)."""
    fitted = {}
    for name in feeds:
        model = plugin.build_model(encoder())
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9), loss=plugin.loss())
        model.fit(feeds[name], epochs=1, verbose=0)  # warm-up: tracing, autotuning
        fitted[name] = model
    times = {name: [] for name in feeds}
    for _ in range(EPOCHS):
        for name, model in fitted.items():
            start = time.perf_counter()
            model.fit(feeds[name], epochs=1, verbose=0)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> int:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.repeat((digits.images / 16.0).astype("float32")[..., None], 3, axis=-1)
    y = digits.target.astype("int64")
    plugin = registry.get_loss("simclr", projection_dims=(64, 64))
    source = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
    live = plugin.training_data(source, batch_size=BATCH)
    # The same pipeline's output for one epoch, materialised: views without augmentation cost.
    batches = list(live)  # one epoch of the same pipeline's output, materialised
    cached = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=live.element_spec)
    cached = cached.cache().prefetch(tf.data.AUTOTUNE)
    list(cached)  # fill the cache
    medians = steady_epochs(plugin, {"cached": cached, "live": live})
    t_cached, t_live = medians["cached"], medians["live"]
    ratio = t_live / t_cached
    print(f"SimCLR epoch, {MODEL} on digits (batch {BATCH}, {len(batches)} steps): "
          f"augmented on the fly {t_live * 1000:.0f} ms, pre-computed views {t_cached * 1000:.0f} ms")
    print(f"ratio {ratio:.2f} (target <= {TARGET}): {'PASS' if ratio <= TARGET else 'FAIL'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
