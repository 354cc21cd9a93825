"""A run's compiled model: the loss plugin, the catalogue model under it, tfmot wrappers, the optimizer."""
from __future__ import annotations

import prunekit  # noqa: F401  (tf_keras before TensorFlow)


def loss_plugin(spec):
    """The loss plugin instance (its ``seed`` option follows the run's seed unless given)."""
    from prunekit import registry

    options = dict(spec.loss.options)
    cls = registry.load("loss", spec.loss.plugin)
    if "seed" in registry.options(cls):
        options.setdefault("seed", spec.seed)
    return registry.get_loss(spec.loss.plugin, **options)


def criterion(spec):
    """The criterion instance; its ``seed`` option (random scores, sampled Fisher labels)
    follows the run's seed unless the config gives one, so seeds give independent draws."""
    from prunekit import registry

    options = dict(spec.criterion.options)
    cls = registry.load("criterion", spec.criterion.plugin)
    if "seed" in registry.options(cls):
        options.setdefault("seed", spec.seed)
    return registry.get_criterion(spec.criterion.plugin, **options)


def optimizer(train, keras):
    """A fresh optimizer of the run's training config (SGD with momentum, or Adam)."""
    kw = {"learning_rate": train.learning_rate}
    if train.weight_decay:
        kw["weight_decay"] = train.weight_decay
    if train.optimizer == "sgd":
        return keras.optimizers.SGD(momentum=train.momentum, **kw)
    return keras.optimizers.Adam(**kw)


def build(spec, input_shape, num_classes: int, wrapped: bool):
    """The run's compiled model: ``(model, plugin, strategy, dense_heads)``; ``wrapped`` puts
    tfmot wrappers on the prunable layers (heads excluded unless ``prune_heads``). The dense
    trunk (:mod:`prunekit.study.execute.trunk`) is the same model unwrapped."""
    import tensorflow as tf
    import tf_keras as keras

    from prunekit import models

    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.seed)
    strategy = tf.distribute.MirroredStrategy() if spec.strategy == "mirrored" else tf.distribute.get_strategy()
    plugin = loss_plugin(spec)
    with strategy.scope():
        base = models.build(spec.model, input_shape, num_classes, seed=spec.seed, **spec.model_options)
        model = plugin.build_model(models.feature_model(base), num_classes)
        # The plugin's heads stay dense unless the config prunes them (paper A pruned the
        # linear classifier too: prune_heads=True).
        dense_heads = () if spec.prune_heads else tuple(plugin.head_layer_names(model))
        if wrapped:
            model = prunekit.wrap(model, exclude=dense_heads)
        model.compile(optimizer=optimizer(spec.train, keras), loss=plugin.loss(), metrics=plugin.metrics())
    return model, plugin, strategy, dense_heads


__all__ = ["build", "loss_plugin", "criterion", "optimizer"]
