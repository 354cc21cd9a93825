"""SimCLR-style augmented views of image batches, for use inside ``tf.data`` maps.

The SimCLR recipe (Chen et al. 2020; paper A in METHODS.md): random resized crop (scale
``crop_scale``, aspect ratio 3/4-4/3), horizontal flip, colour jitter (brightness, contrast,
saturation, hue) with probability ``jitter_p`` and grayscale with probability
``grayscale_p``; colour operations only where the images have 3 channels. Images are
float32 in [0, 1], batched ``[B, H, W, C]``; every example gets its own random parameters.

Randomness is stateless: :meth:`Augment.__call__` takes a seed tensor of shape ``[2]`` and
is a pure function of (images, seed), so views are reproducible under parallel ``tf.data``
maps (keras-cv's own layers draw from a stateful generator, whose draw order depends on
thread scheduling). The colour operations are keras-cv's vectorised Keras-2 layers applied
with transformations drawn here (``augment_images(images, transformations)``); the crop is
``tf.image.crop_and_resize`` over all boxes at once (keras-cv's ``RandomCropAndResize``
draws the same boxes but crops image by image) and the flip one ``tf.reverse`` and select
(keras-cv's ``RandomFlip`` builds full-size masks and also computes the vertical flip).

Signals (batches of rank 3, ``[B, L, C]``: MNIST-1D) get a
:class:`prunekit.data.augment_signal.SignalAugment` view instead (``signal``: its options);
the image options do not act on signals, and the signal options not on images.

    pipeline = ds.batch(256)
    pipeline = with_seeds(pipeline, seed=0).map(lambda batch, s: (augment(batch[0], s), ...))
"""
from __future__ import annotations

import math

import tensorflow as tf

from prunekit.data.augment_signal import SignalAugment

_JITTER_NAMES = ("brightness", "contrast", "saturation", "hue")
_NUM_DRAWS = 11  # crop scale, ratio, y0, x0; flip; jitter apply, 4 strengths; grayscale


def _keras_cv_layers():
    import keras_cv  # Keras-2 mode: prunekit selected TF_USE_LEGACY_KERAS before TF

    value_range = (0.0, 1.0)
    return {
        "brightness": keras_cv.layers.RandomBrightness(0.1, value_range=value_range),
        "contrast": keras_cv.layers.RandomContrast(value_range=value_range, factor=0.1),
        "saturation": keras_cv.layers.RandomSaturation(0.1),
        "hue": keras_cv.layers.RandomHue(0.1, value_range=value_range),
        "grayscale": keras_cv.layers.Grayscale(output_channels=3),
    }


class Augment:
    """One random augmented view per example: ``Augment(...)(images, seed) -> images``.

    ``jitter`` is (brightness, contrast, saturation, hue) strength as in torchvision's
    ColorJitter: brightness adds ``U(-b, b)`` (keras-cv's additive brightness), contrast and
    saturation scale by ``U(1-c, 1+c)``, hue shifts by ``U(-h, h)`` of the colour circle.
    """

    def __init__(self, *, crop_scale=(0.2, 1.0), crop_ratio=(3 / 4, 4 / 3), flip: bool = True,
                 jitter=(0.4, 0.4, 0.4, 0.1), jitter_p: float = 0.8, grayscale_p: float = 0.2,
                 signal: dict | None = None):
        lo, hi = (float(v) for v in crop_scale)
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < low <= high <= 1, got {crop_scale}.")
        if len(tuple(jitter)) != 4 or min(jitter) < 0:
            raise ValueError(f"jitter must be 4 non-negative strengths (b, c, s, h), got {jitter}.")
        for name, p in (("jitter_p", jitter_p), ("grayscale_p", grayscale_p)):
            if not 0 <= p <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {p}.")
        self.crop_scale = (lo, hi)
        self.crop_ratio = tuple(float(v) for v in crop_ratio)
        self.flip = bool(flip)
        self.jitter = tuple(float(v) for v in jitter)
        self.jitter_p = float(jitter_p)
        self.grayscale_p = float(grayscale_p)
        self.signal = SignalAugment(**(signal or {}))
        self._layers = None

    def __call__(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Augmented copy of ``images`` [B, H, W, C] in [0, 1] (or of signals [B, L, C]: see
        the module docstring); a pure function of ``seed``."""
        images = tf.convert_to_tensor(images, tf.float32)
        if images.shape.rank == 3:
            return self.signal(images, seed)
        if images.shape.rank != 4:
            raise ValueError(f"Augment expects batched images [B, H, W, C] or signals [B, L, C], "
                             f"got shape {images.shape}.")
        if self._layers is None:
            self._layers = _keras_cv_layers()
        batch = tf.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        # One draw for every per-example parameter (eleven draws were ~30 more graph nodes:
        # tf.data re-optimises the map function with Grappler on every new iterator, i.e. at
        # the start of every epoch, at ~0.15 ms a node on CPU).
        columns = iter(tf.unstack(tf.random.stateless_uniform(
            [batch, _NUM_DRAWS], tf.cast(seed, tf.int64)), num=_NUM_DRAWS, axis=1))

        def uniform(shape, lo=0.0, hi=1.0):
            return tf.reshape(lo + (hi - lo) * next(columns), shape)

        # random resized crop
        scale = uniform([batch], *self.crop_scale)
        log_ratio = uniform([batch], math.log(self.crop_ratio[0]), math.log(self.crop_ratio[1]))
        ratio = tf.exp(log_ratio)
        h = tf.clip_by_value(tf.sqrt(scale / ratio), 0.0, 1.0)
        w = tf.clip_by_value(tf.sqrt(scale * ratio), 0.0, 1.0)
        y0 = uniform([batch]) * (1.0 - h)
        x0 = uniform([batch]) * (1.0 - w)
        boxes = tf.stack([y0, x0, y0 + h, x0 + w], axis=1)
        images = tf.image.crop_and_resize(images, boxes, tf.range(batch), (height, width))

        flips = uniform([batch]) < 0.5
        if self.flip:  # one reverse + select (keras-cv's RandomFlip also builds full-size masks)
            images = _where(flips, tf.reverse(images, axis=[2]), images)

        if images.shape[-1] == 3:
            b, c, s, hue = self.jitter
            apply = uniform([batch]) < self.jitter_p
            sat = uniform([batch], max(1 - s, 0.0), 1 + s)
            params = {
                "brightness": (uniform([batch, 1, 1, 1], -b, b), b),
                "contrast": (uniform([batch, 1, 1, 1], 1 - c, 1 + c), c),
                # keras-cv saturation takes t in [0, 1) and scales by t / (1 - t)
                "saturation": (sat / (1.0 + sat), s),
                "hue": (uniform([batch], -hue, hue), hue),
            }
            jittered = images
            for name in _JITTER_NAMES:
                t, strength = params[name]
                if strength > 0:
                    jittered = self._layers[name].augment_images(jittered, t)
            images = _where(apply, jittered, images)
            gray = uniform([batch]) < self.grayscale_p
            images = _where(gray, self._layers["grayscale"].augment_images(images), images)
        return tf.clip_by_value(images, 0.0, 1.0)

    def get_config(self) -> dict:
        return {"crop_scale": self.crop_scale, "crop_ratio": self.crop_ratio, "flip": self.flip,
                "jitter": self.jitter, "jitter_p": self.jitter_p, "grayscale_p": self.grayscale_p,
                "signal": self.signal.get_config()}


def _where(per_example, a, b):
    """Per example, ``a`` where ``per_example`` holds, else ``b``. Selects on [B, H*W*C] rows:
    TF's select broadcasting a [B, 1, 1, 1] mask is ~8x slower on CPU (0.51 vs 0.06 ms for
    512 images of 8x8x3), and its three selects were about a quarter of the augmentation time."""
    shape = tf.shape(a)
    rows = [tf.reshape(t, [shape[0], -1]) for t in (a, b)]
    return tf.reshape(tf.where(tf.reshape(per_example, [-1, 1]), *rows), shape)


def with_seeds(ds: tf.data.Dataset, seed: int) -> tf.data.Dataset:
    """``ds`` zipped with one stateless seed ``[2]`` per element, new each epoch, reproducible.

    The seeds come from ``tf.data.Dataset.random(seed, rerandomize_each_iteration=True)``: a
    fresh pipeline built with the same ``seed`` gives the same seeds, epoch by epoch.
    """
    seeds = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip((ds, seeds))
