"""TFDS builder ``prunekit_mnist1d``: MNIST-1D (Greydanus 2020, "Scaling down deep learning").

Ten 1-D digit templates (12 points) are padded, dilated, scaled, circularly translated,
noised (correlated noise where the signal is zero, then i.i.d. noise), sheared and resampled
to 40 points by the ``mnist1d`` package's own generator (``mnist1d.data.make_dataset``,
Apache-2.0), so ``download_and_prepare`` works offline; the whole set is then centred and
scaled to standard deviation 1. Generation arguments (:data:`GENERATION_ARGS`) are the
package's defaults (``mnist1d.get_dataset_args()``: template_len 12, padding 36-60,
scale_coeff 0.4, max_translation 48, corr_noise_scale 0.25, iid_noise_scale 0.02,
shear_scale 0.75, final_seq_length 40, seed 42) except the size: ``num_samples`` 30,000 and
``train_split`` 2/3, i.e. 20,000 training and 10,000 test signals (3,000 per class in all;
the paper's 4,000/1,000 gives 0.1 accuracy points per test signal). With 10,000 test
signals one signal is 0.01 points and the binomial standard error of a 90 % accuracy is
0.3 points, so differences of a few tenths of a point are resolvable over a few seeds;
30,000 signals are generated in a few seconds on one CPU core.

Signals are stored as float32 ``(40, 1)`` (length, channels): Conv1D models read them as
they are, MLPs flatten them. Configs (one generated set, so the halves add up):

- ``prunekit_mnist1d/all``: every digit, ``label`` = digit.
- ``prunekit_mnist1d/0-4``: digits 0-4 only, ``label`` = digit.
- ``prunekit_mnist1d/5-9``: digits 5-9 only, ``label`` = digit - 5 (0..4).

Each example also carries ``digit`` (0..9) and ``index`` (its row in the generated split).
The generator seeds NumPy's global random state; :func:`generate` restores it afterwards.
"""
from __future__ import annotations

import functools
import random

import numpy as np
import tensorflow_datasets as tfds

#: Overrides of ``mnist1d.get_dataset_args()``: only the size differs from the package.
GENERATION_ARGS = {"num_samples": 30_000, "train_split": 2 / 3, "seed": 42}
LENGTH = 40


@functools.lru_cache(maxsize=2)
def generate(num_samples: int = GENERATION_ARGS["num_samples"],
             train_split: float = GENERATION_ARGS["train_split"],
             seed: int = GENERATION_ARGS["seed"]) -> dict:
    """``{"train": (x [N, 40] float32, y [N] int64), "test": (...)}``: what
    ``mnist1d.data.make_dataset`` gives with its default arguments except these three (equal
    to float64 round-off; tests/test_mnist1d.py compares), global random state untouched.
    The arrays are cached and read-only."""
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.update(num_samples=int(num_samples), train_split=float(train_split), seed=int(seed))
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        random.seed(args["seed"])  # mnist1d.utils.set_seed
        np.random.seed(args["seed"])
        xs, ys = _make_signals(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    xs = ((xs - xs.mean()) / xs.std()).astype(np.float32)  # the package centres and scales
    split = int(len(ys) * args["train_split"])
    out = {"train": (xs[:split], ys[:split]), "test": (xs[split:], ys[split:])}
    for array in (a for pair in out.values() for a in pair):
        array.setflags(write=False)  # cached: shared by every caller
    return out


def _make_signals(args):
    """``make_dataset``'s signals before standardising, from NumPy's global generator.

    Written here because the package transforms one signal at a time (about 1 ms each, 30 s
    for 30,000): this makes the same random draws in the same order per signal
    (``mnist1d.transform.transform``: padding, scale, translation, correlated and i.i.d.
    noise, shear) and applies the arithmetic to all signals at once, with the package's own
    templates and ``interpolate``.
    """
    from mnist1d.data import get_templates
    from mnist1d.transform import interpolate
    from scipy.ndimage import gaussian_filter1d

    templates = get_templates()
    per_class = args["num_samples"] // len(templates["y"])
    labels = np.repeat(templates["y"], per_class)
    low, high = args["padding"]
    long_len = args["template_len"] + high
    n = len(labels)
    pads, scales, shifts, shears = (np.empty(n, int), np.empty(n), np.empty(n, int), np.empty(n))
    corr, iid = np.empty((n, long_len)), np.empty((n, long_len))
    for i in range(n):  # the package's draws, in its order
        pads[i] = low + int(np.random.rand() * (high - low + 1))
        scales[i] = 1 + args["scale_coeff"] * (np.random.rand() - 0.5)
        shifts[i] = np.random.choice(args["max_translation"])
        corr[i] = args["corr_noise_scale"] * np.random.randn(long_len)
        iid[i] = args["iid_noise_scale"] * np.random.randn(long_len)
        shears[i] = args["shear_scale"] * (np.random.rand() - 0.5)
    x = np.empty((n, long_len))
    for p in np.unique(pads):  # pad with p zeros, dilate to long_len: one call per padding
        rows = pads == p
        padded = np.concatenate([templates["x"][labels[rows]] + 1e-8,
                                 np.zeros((int(rows.sum()), p))], axis=1)
        x[rows] = interpolate(padded.T, long_len).T
    x *= scales[:, None]
    x = np.take_along_axis(x, (np.arange(long_len)[None, :] - shifts[:, None]) % long_len, axis=1)
    mask = x != 0
    x = mask * x + (1 - mask) * gaussian_filter1d(corr, 2, axis=1)
    x = x + iid
    x = x - shears[:, None] * np.linspace(-0.5, 0.5, long_len)[None, :]
    x = interpolate(x.T, args["final_seq_length"]).T
    order = np.random.permutation(n)  # make_dataset's shuffle of the examples
    return x[order], labels[order].astype(np.int64)


class Mnist1dConfig(tfds.core.BuilderConfig):
    """A subset of the digits; labels are ``digit - first``."""

    def __init__(self, *, first: int, last: int, **kwargs):
        super().__init__(**kwargs)
        self.first, self.last = first, last


class PrunekitMnist1d(tfds.core.GeneratorBasedBuilder):
    """MNIST-1D generated offline with the ``mnist1d`` package (20,000 / 10,000 signals)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "mnist1d 0.0.2 generator, 30,000 signals (seed 42), 20,000/10,000 "
                              "split; all, 0-4 and 5-9 configs."}
    BUILDER_CONFIGS = [
        Mnist1dConfig(name="all", first=0, last=9, description="All ten digits."),
        Mnist1dConfig(name="0-4", first=0, last=4, description="Digits 0-4, labels 0..4."),
        Mnist1dConfig(name="5-9", first=5, last=9, description="Digits 5-9, labels digit - 5."),
    ]

    def split_sizes(self) -> dict:
        """``{split: examples}`` of this config, computed without preparing anything."""
        cfg = self.builder_config
        return {split: int(np.sum((digits >= cfg.first) & (digits <= cfg.last)))
                for split, (_signals, digits) in generate(**GENERATION_ARGS).items()}

    def _info(self) -> tfds.core.DatasetInfo:
        cfg = self.builder_config
        return self.dataset_info_from_configs(
            description=__doc__,
            features=tfds.features.FeaturesDict({
                "signal": tfds.features.Tensor(shape=(LENGTH, 1), dtype=np.float32),
                "label": tfds.features.ClassLabel(
                    names=[str(d) for d in range(cfg.first, cfg.last + 1)]),
                "digit": tfds.features.ClassLabel(num_classes=10),
                "index": np.int64,
            }),
            supervised_keys=("signal", "label"),
            homepage="https://github.com/greydanus/mnist1d",
            citation="Greydanus, S. Scaling down deep learning. arXiv:2011.14439 (2020).",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # generated locally: nothing to download
        signals = generate(**GENERATION_ARGS)  # read at preparation time (tests shrink it)
        return {split: self._generate_examples(*xy) for split, xy in signals.items()}

    def _generate_examples(self, signals, digits):
        cfg = self.builder_config
        for row, (signal, digit) in enumerate(zip(signals, digits)):
            if cfg.first <= digit <= cfg.last:
                yield row, {"signal": signal[:, None], "label": int(digit) - cfg.first,
                            "digit": int(digit), "index": row}
