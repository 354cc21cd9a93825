"""TFDS builder ``prunekit_digits``: scikit-learn's bundled 8x8 handwritten digits.

The data ships with scikit-learn (``sklearn.datasets.load_digits``: 1,797 images of the
UCI optical-digits test set, 10 classes), so ``download_and_prepare`` works offline. Images
are stored as uint8 (8, 8, 1), pixel values 0..16 scaled to round(v * 255 / 16).

Split: one stratified split with a fixed seed (``train_test_split(test_size=360,
stratify=digit, random_state=0)``): train 1,437, test 360. The configs share that split:

- ``prunekit_digits/all``: every digit, ``label`` = digit.
- ``prunekit_digits/0-4``: digits 0-4 only, ``label`` = digit.
- ``prunekit_digits/5-9``: digits 5-9 only, ``label`` = digit - 5 (0..4).

Prepare it with ``prunekit.data.load("digits", ...)`` (automatic), with
``tfds.builder("prunekit_digits/all", data_dir=DIR).download_and_prepare()`` after importing
``prunekit.data``, or with ``tfds build prunekit_digits --imports prunekit.data --data_dir DIR``.

Each example also carries ``digit`` (the original digit, 0..9) and ``index`` (its row in
``load_digits()``), so the halves add up to the full splits and rows can be matched back.
"""
from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

SEED = 0
TEST_SIZE = 360


class DigitsConfig(tfds.core.BuilderConfig):
    """A subset of the digits; labels are ``digit - first``."""

    def __init__(self, *, first: int, last: int, **kwargs):
        super().__init__(**kwargs)
        self.first, self.last = first, last


class PrunekitDigits(tfds.core.GeneratorBasedBuilder):
    """scikit-learn's 8x8 digits (Alpaydin & Kaynak 1998, UCI optical recognition of digits)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Stratified 1,437/360 split (seed 0); all, 0-4 and 5-9 configs."}
    BUILDER_CONFIGS = [
        DigitsConfig(name="all", first=0, last=9, description="All ten digits."),
        DigitsConfig(name="0-4", first=0, last=4, description="Digits 0-4, labels 0..4."),
        DigitsConfig(name="5-9", first=5, last=9, description="Digits 5-9, labels digit - 5."),
    ]

    def split_sizes(self) -> dict:
        """``{split: examples}`` of this config, computed without preparing anything."""
        from sklearn.datasets import load_digits

        target = load_digits().target
        cfg = self.builder_config
        return {split: int(np.sum((target[rows] >= cfg.first) & (target[rows] <= cfg.last)))
                for split, rows in split_rows().items()}

    def _info(self) -> tfds.core.DatasetInfo:
        cfg = self.builder_config
        return self.dataset_info_from_configs(
            description=__doc__,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 1), dtype=np.uint8),
                "label": tfds.features.ClassLabel(
                    names=[str(d) for d in range(cfg.first, cfg.last + 1)]),
                "digit": tfds.features.ClassLabel(num_classes=10),
                "index": np.int64,
            }),
            supervised_keys=("image", "label"),
            homepage="https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_digits.html",
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # bundled with scikit-learn: nothing to download
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        return {name: self._generate_examples(images, digits.target, rows)
                for name, rows in split_rows().items()}

    def _generate_examples(self, images, targets, rows):
        cfg = self.builder_config
        for row in rows:
            digit = int(targets[row])
            if cfg.first <= digit <= cfg.last:
                yield int(row), {"image": images[row], "label": digit - cfg.first,
                                 "digit": digit, "index": int(row)}



def split_rows() -> dict:
    """``{"train": rows, "test": rows}``: sorted row numbers into ``load_digits()``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    target = load_digits().target
    train, test = train_test_split(np.arange(len(target)), test_size=TEST_SIZE, stratify=target,
                                   random_state=SEED)
    return {"train": np.sort(train), "test": np.sort(test)}
