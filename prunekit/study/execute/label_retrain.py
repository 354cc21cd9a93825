"""Paper B's mask retraining with labels (Caron et al. 2020, "Pruning convolutional neural
networks with self-supervision").

A mask found by iterative pruning under any objective (a pretext task such as rotation
prediction or SimCLR, labels, or random scores) is retrained with labels: the encoder's
surviving weights go back to their values at the rewind point of the run that found the mask
(pruned weights stay zero), a fresh linear classifier head (the ``cross_entropy`` plugin's)
goes on the representation layer, and the network trains with a fresh optimizer for the
run's training length with the mask fixed. The result, ``retrained_test_accuracy`` on the
test split, compares masks found with and without labels on equal terms.

Every mask gets the same retraining, a cross-entropy mask too (its last IMP round already
trained a classifier, but reusing it would give that arm a different budget and head than
the others: issue 13, "arms with unequal budgets"); ``retrain_optimizer_steps`` records the
retraining's optimizer steps, equal for every arm of a study.
"""
from __future__ import annotations

import numpy as np

LABELS_PLUGIN = "cross_entropy"


def retrain(model, plugin, rewind_weights, *, train_data, test_data, num_classes: int,
            epochs: int, batch_size: int, make_optimizer, seed: int = 0, fit_kwargs=None) -> dict:
    """Retrains ``model``'s mask with labels from ``rewind_weights`` (a
    :class:`prunekit.checkpoint.Checkpoint`); returns the metrics.

    ``model`` is the wrapped model that found the mask (trained under ``plugin``);
    ``train_data`` is a ``tf.data.Dataset`` of ``(image, label)`` examples (unbatched,
    shuffled as the run shuffles), ``test_data`` an ``(x, y)`` pair of arrays;
    ``make_optimizer()`` returns a fresh optimizer of the run's configuration."""
    from prunekit import registry
    from prunekit.evaluation import loss_and_accuracy
    from prunekit.study import pruning

    masks = pruning.rewind_with_mask(model, rewind_weights)  # survivors at their rewind values, pruned zero
    labels = registry.get_loss(LABELS_PLUGIN, seed=seed)
    classifier = labels.build_model(plugin.encoder(model), num_classes)
    classifier.compile(optimizer=make_optimizer(), loss=labels.loss(), metrics=labels.metrics())
    history = classifier.fit(labels.training_data(train_data, batch_size=batch_size), epochs=epochs,
                             callbacks=[pruning.hold_callback("magnitude")], **(fit_kwargs or {}))
    x_test, y_test = test_data
    logits = classifier.predict(x_test, batch_size=1024, verbose=0).astype(np.float32)
    loss, accuracy = loss_and_accuracy(logits, y_test, from_logits=True)
    kept = pruning.masks_of(classifier)
    if any(not np.array_equal(kept[n], masks[n]) for n in masks):
        raise RuntimeError("the mask changed while retraining with labels")  # Hold must keep it
    return {"retrained_test_accuracy": accuracy, "retrained_test_loss": loss,
            "retrained_train_loss": float(history.history["loss"][-1]),
            "retrain_optimizer_steps": int(classifier.optimizer.iterations.numpy())}
