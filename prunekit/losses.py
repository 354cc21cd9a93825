"""The LossPlugin base class: a training objective as views + heads + Keras loss.

A loss plugin (entry-point group ``prunekit.losses``) owns what differs between objectives:

- :meth:`LossPlugin.views`: a batch ``(images [B,H,W,C], labels [B])`` -> training inputs
  ``[V*B, H, W, C]`` and targets ``[V*B]``, ``V = num_views``. The views of one example are
  *interleaved*: rows ``V*k .. V*k+V-1`` come from example ``k`` (two-view losses: rows
  ``2k, 2k+1``; rotation: rows ``4k+r`` rotated by ``r * 90`` degrees). Contiguous slices of
  an even batch keep pairs together, so ``tf.distribute`` splits and ``fit(x, y,
  batch_size=even, shuffle=False)`` on precomputed views keep working.
- :meth:`LossPlugin.training_data`: the ``tf.data`` pipeline (batch, per-batch stateless
  seeds, parallel map of :meth:`views`, prefetch) that feeds ``model.fit``.
- :meth:`LossPlugin.build_model`: heads on an encoder (a tf_keras model whose single output
  is the representation). Head layers are named ``head_*``; :meth:`head_layer_names` and
  :meth:`encoder_layer_names` tell pruning which layers belong where.
- :meth:`LossPlugin.loss`: a ``tf_keras`` Loss for plain ``model.compile(loss=...)``.
- ``needs_labels``, ``representation_layer``: what the probes read.
- ``representation``: what the objective is, declared by the plugin (never read from its
  name): ``"supervised"`` (trains a classifier on the labels: read out by its own head),
  ``"contrastive"`` (two-view contrastive: SupCon, SimCLR) or ``"self_supervised"`` (a
  pretext task: rotation, transform); the last two are read out through a linear probe on
  the frozen encoder (paper A).
- Statistics hooks for gradient / curvature criteria: :meth:`statistics_views`,
  :meth:`objective` (the scalar loss whose gradient is used) and :meth:`log_probs` (the
  categorical distribution whose Fisher = GGN diagonal is used).

A plugin sets class attributes and overrides :meth:`head` and :meth:`loss`, rarely more.
"""
from __future__ import annotations

from typing import ClassVar

import tensorflow as tf
import tf_keras as keras

from prunekit import graph
from prunekit import _backend

HEAD_PREFIX = "head_"
REPRESENTATIONS = ("supervised", "contrastive", "self_supervised")
_TFMOT_PREFIX = "prune_low_magnitude_"


class LossPlugin:
    """Base class of loss plugins; constructor keywords are the plugin's options.

    Options: ``seed`` (augmentation seeds), ``augment`` (random views on/off) and the
    SimCLR augmentation of :class:`prunekit.data.augment.Augment` (``crop_scale``, ``flip``,
    ``jitter``, ``jitter_p``, ``grayscale_p``).
    """

    needs_labels: ClassVar[bool] = True
    representation: ClassVar[str] = "supervised"  # one of REPRESENTATIONS (module doc)
    num_views: ClassVar[int] = 1          # training rows per example
    statistics_augment: ClassVar[bool] = False  # objective defined on augmented views only

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.representation not in REPRESENTATIONS:
            raise TypeError(f"{cls.__name__}.representation = {cls.representation!r}; set it to one of "
                            f"{', '.join(REPRESENTATIONS)}")

    def __init__(self, *, seed: int = 0, augment: bool = True, crop_scale=(0.2, 1.0),
                 flip: bool = True, jitter=(0.4, 0.4, 0.4, 0.1), jitter_p: float = 0.8,
                 grayscale_p: float = 0.2):
        from prunekit.data.augment import Augment

        self.seed = int(seed)
        self.augment = bool(augment)
        self.augmenter = Augment(crop_scale=crop_scale, flip=flip, jitter=jitter,
                                 jitter_p=jitter_p, grayscale_p=grayscale_p)
        cfg = self.augmenter.get_config()
        self.crop_scale, self.flip, self.jitter = cfg["crop_scale"], cfg["flip"], cfg["jitter"]
        self.jitter_p, self.grayscale_p = cfg["jitter_p"], cfg["grayscale_p"]
        self.representation_layer = "features"

    # ---- what a plugin overrides -------------------------------------------------------
    def head(self, features: tf.Tensor, *, num_classes: int | None) -> tf.Tensor:
        """Head outputs on the encoder's output tensor (layers named ``head_*``).

        Default: a linear classifier giving logits, ``Dense(num_classes, name="head_classifier")``.
        """
        if not num_classes:
            raise ValueError(f"{type(self).__name__} needs num_classes for its classifier head.")
        return keras.layers.Dense(int(num_classes), name=HEAD_PREFIX + "classifier")(features)

    def loss(self) -> keras.losses.Loss:
        """The Keras loss on (targets, model outputs) of a :meth:`views` batch."""
        raise NotImplementedError

    def metrics(self) -> list:
        """Metrics for ``model.compile(metrics=...)``; none by default."""
        return []

    def targets(self, labels: tf.Tensor | None, batch_size: tf.Tensor) -> tf.Tensor:
        """Per-example training targets [B] before repetition over views: the labels."""
        if labels is None:
            raise ValueError(f"loss '{type(self).__name__}' needs labels; the data gives images only.")
        return labels

    # ---- views and data -----------------------------------------------------------------
    def view(self, images: tf.Tensor, seed: tf.Tensor | None) -> tf.Tensor:
        """One view of every image: augmented with ``seed``, or the images as they are."""
        if seed is None or not self.augment:
            return tf.convert_to_tensor(images, tf.float32)
        return self.augmenter(images, seed)

    def views(self, images, labels=None, seed=None):
        """``(inputs [V*B,...], targets [V*B])`` of a batch, views interleaved per example.

        ``seed`` (int tensor [2]) draws the augmentation; ``None`` gives unaugmented views.
        """
        images = tf.convert_to_tensor(images, tf.float32)
        batch = tf.shape(images)[0]
        targets = self.targets(labels, batch)
        # tf.repeat interleaves (rows V*k .. V*k+V-1 from example k); one augmentation call
        # draws independent parameters for every row, so the views of an example differ.
        inputs = images if self.num_views == 1 else tf.repeat(images, self.num_views, axis=0)
        return self.view(inputs, seed), tf.repeat(targets, self.num_views, axis=0)

    def training_data(self, ds: tf.data.Dataset, *, batch_size: int | None = None,
                      drop_remainder: bool = False, repeat: bool = False) -> tf.data.Dataset:
        """``ds`` of ``(image, label)`` or images (batched, or unbatched with ``batch_size``)
        -> a prefetched dataset of :meth:`views` batches for ``model.fit``.

        Augmentation runs in a parallel (AUTOTUNE) deterministic map with one stateless seed
        per batch (reproducible for a given ``seed``, different every epoch).
        ``repeat``: the epochs one after another, without end, from one pipeline (fit with
        ``steps_per_epoch`` = the batches of one epoch, e.g. ``training_data(ds, ...)
        .cardinality()``): tf.data optimises and starts its threads once, not every epoch
        (Keras makes a new iterator per epoch of a finite dataset), and the next epoch's
        batches are prepared while this one ends. Every epoch has the same batches and seeds
        as the epochs of the finite dataset (the repeat sits before the augmentation, after
        the source's shuffle and the seeds, which re-draw per repetition as per iteration).
        """
        from prunekit.data.augment import with_seeds

        spec = ds.element_spec
        has_labels = isinstance(spec, tuple)
        if not has_labels and self.needs_labels:
            raise ValueError(f"loss '{type(self).__name__}' needs labels; the dataset yields images "
                             f"only. Give a dataset of (image, label).")
        image_spec = spec[0] if has_labels else spec
        if batch_size is not None:
            ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
        elif image_spec.shape.rank != 4:
            raise ValueError(f"the dataset is not batched (images of shape {image_spec.shape}): "
                             f"pass batch_size=.")

        if not has_labels:  # label-free losses ignore the (dummy) labels
            ds = ds.map(lambda x: (x, tf.zeros(tf.shape(x)[:1], tf.int64)))
        if self.augment:
            ds = with_seeds(ds, self.seed)
            ds = (ds.repeat() if repeat else ds).map(
                lambda element, seed: self.views(*element, seed=seed),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        else:
            ds = (ds.repeat() if repeat else ds).map(
                lambda x, y: self.views(x, y), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE)

    # ---- heads and encoder ---------------------------------------------------------------
    def build_model(self, encoder: keras.Model, num_classes: int | None = None) -> keras.Model:
        """The trainable model: ``encoder`` (layers shared, not copied) plus this plugin's heads."""
        _backend.require_tf_keras_model(encoder, "encoder")
        if len(encoder.outputs) != 1:
            raise ValueError(f"the encoder must have one output (the representation), "
                             f"it has {len(encoder.outputs)}.")
        features = encoder.outputs[0]
        self.representation_layer = features._keras_history.layer.name
        outputs = self.head(features, num_classes=num_classes)
        model = keras.Model(encoder.inputs, outputs, name=f"{encoder.name}_{type(self).__name__.lower()}")
        encoder_names = {l.name for l in encoder.layers}
        bad = [l.name for l in model.layers if l.name not in encoder_names and not l.name.startswith(HEAD_PREFIX)]
        if bad:
            raise ValueError(f"{type(self).__name__}.head added layers not named '{HEAD_PREFIX}*': {bad}.")
        return model

    def head_layer_names(self, model: keras.Model) -> list[str]:
        """Names of ``model``'s head layers (also after tfmot wrapping renamed them)."""
        return [l.name for l in model.layers if is_head_layer(l)]

    def encoder_layer_names(self, model: keras.Model) -> list[str]:
        """Names of ``model``'s encoder layers (everything but inputs and heads)."""
        return [l.name for l in model.layers
                if not is_head_layer(l) and not isinstance(l, keras.layers.InputLayer)]

    def encoder(self, model: keras.Model) -> keras.Model:
        """The encoder of a built (possibly wrapped) model: input -> representation layer."""
        name = self.representation_layer
        for candidate in (name, _TFMOT_PREFIX + name):
            try:
                layer = model.get_layer(candidate)
            except ValueError:
                continue
            return keras.Model(model.inputs, graph.output_in(model, layer), name=f"{model.name}_encoder")
        raise ValueError(f"model {model.name!r} has no representation layer {name!r}.")

    # ---- statistics hooks (gradient / Fisher criteria) -------------------------------------
    def statistics_views(self, images, labels=None):
        """Views the statistics are estimated on: unaugmented, except for objectives defined
        only on augmented views (two-view losses), which use one fixed seed."""
        seed = tf.constant([self.seed, 0], tf.int64) if self.statistics_augment else None
        return self.views(images, labels, seed=seed)

    def objective(self, model, inputs, targets, training: bool = False) -> tf.Tensor:
        """Scalar mean loss of a :meth:`views` batch; its gradient is the criteria's g."""
        return self.loss()(targets, model(inputs, training=training))

    def log_probs(self, model, inputs, training: bool = False) -> tf.Tensor:
        """[N, C] log-probabilities of the model's categorical predictive distribution.

        The Fisher diagonal is ``1/N sum_i sum_c p_ic (d log p_ic / d theta)^2`` with ``p_ic``
        held constant: for softmax outputs the exact Gauss-Newton diagonal.
        """
        return self.predictive_log_probs(model(inputs, training=training))

    def predictive_log_probs(self, outputs) -> tf.Tensor:
        """[N, C] log-probabilities from the model's outputs. Default: log-softmax of logits."""
        return tf.nn.log_softmax(tf.cast(outputs, tf.float32), axis=-1)

    # ---- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        from prunekit import registry
        return {k: getattr(self, k) for k in registry.options(type(self)) if hasattr(self, k)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def is_head_layer(layer) -> bool:
    """True for layers a loss plugin added (named ``head_*``, tfmot prefix ignored)."""
    name = layer.name
    if name.startswith(_TFMOT_PREFIX):
        name = name[len(_TFMOT_PREFIX):]
    return name.startswith(HEAD_PREFIX)


def encoder_of(model: keras.Model, layer: str = "features") -> keras.Model:
    """A classifier's encoder: its input to the output of ``layer`` (prunekit models: "features")."""
    _backend.require_tf_keras_model(model)
    return keras.Model(model.inputs, graph.output_in(model, layer), name=f"{model.name}_encoder")
