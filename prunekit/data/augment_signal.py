"""Random views of 1-D signal batches ``[B, L, C]`` (MNIST-1D), for use inside ``tf.data`` maps.

In the spirit of the MNIST-1D generator's own transforms (Greydanus 2020: scale, translate,
noise, shear), each example gets, in this order and with its own random parameters:

1. amplitude scaling: ``x <- a x``, ``a ~ U(amplitude)``;
2. shift with zero padding (the 1-D random crop with padding): ``x_t <- x_{t-d}`` (0 where
   ``t - d`` falls outside the signal), ``d`` uniform on the integers ``-max_shift..max_shift``;
3. shear: ``x_t <- x_t + c (t / (L - 1) - 1/2)``, ``c ~ U(-shear, shear)`` (the generator's
   linear trend);
4. additive noise: ``x <- x + noise * N(0, 1)``, i.i.d. per sample and channel.

MNIST-1D signals are standardised (mean 0, std 1), so ``noise`` and ``shear`` are in units
of the data's standard deviation. No time reversal: it is not label-preserving here (it is
the pretext task of the ``transform`` loss). Randomness is stateless like
:class:`prunekit.data.augment.Augment`: a pure function of (signals, seed ``[2]``).
All transforms are written here with TF ops (one gather, a few multiply-adds): no
augmentation library offers seeded, batched 1-D signal transforms in tf.data.
"""
from __future__ import annotations

import tensorflow as tf


class SignalAugment:
    """One random view per signal: ``SignalAugment(...)(signals [B, L, C], seed) -> signals``."""

    def __init__(self, *, max_shift: int = 4, amplitude=(0.8, 1.2), noise: float = 0.1,
                 shear: float = 0.3):
        if isinstance(max_shift, bool) or int(max_shift) != max_shift or max_shift < 0:
            raise ValueError(f"max_shift must be a non-negative int (samples), got {max_shift!r}.")
        lo, hi = (float(v) for v in amplitude)
        if not 0 < lo <= hi:
            raise ValueError(f"amplitude must satisfy 0 < low <= high, got {amplitude}.")
        for name, value in (("noise", noise), ("shear", shear)):
            if not float(value) >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}.")
        self.max_shift = int(max_shift)
        self.amplitude = (lo, hi)
        self.noise = float(noise)
        self.shear = float(shear)

    def __call__(self, signals: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Augmented copy of ``signals`` [B, L, C]; a pure function of ``seed`` (int [2])."""
        signals = tf.convert_to_tensor(signals, tf.float32)
        if signals.shape.rank != 3:
            raise ValueError(f"SignalAugment expects batched signals [B, L, C], got shape "
                             f"{signals.shape}.")
        batch, length = tf.shape(signals)[0], tf.shape(signals)[1]
        params_seed, noise_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2))
        u = tf.random.stateless_uniform([batch, 3], params_seed)
        lo, hi = self.amplitude
        x = signals * (lo + (hi - lo) * u[:, 0])[:, None, None]
        if self.max_shift:
            shift = tf.cast(tf.floor(u[:, 1] * (2 * self.max_shift + 1)), tf.int32) - self.max_shift
            source = tf.range(length)[None, :] - shift[:, None]          # [B, L]
            inside = (source >= 0) & (source < length)
            x = tf.gather(x, tf.clip_by_value(source, 0, length - 1), batch_dims=1)
            x = x * tf.cast(inside, tf.float32)[..., None]
        if self.shear:
            ramp = tf.linspace(-0.5, 0.5, length)
            x = x + (self.shear * (2.0 * u[:, 2] - 1.0))[:, None, None] * ramp[None, :, None]
        if self.noise:
            x = x + self.noise * tf.random.stateless_normal(tf.shape(x), noise_seed)
        return x

    def get_config(self) -> dict:
        return {"max_shift": self.max_shift, "amplitude": self.amplitude, "noise": self.noise,
                "shear": self.shear}
