"""Transfer (paper B): a label-free encoder trained on digits 0-4, probed on digits 5-9."""
import numpy as np
import tensorflow as tf
import tf_keras as keras

import prunekit
from prunekit import data, evaluation, models, registry, schedules


def _probe_5_9(encoder, tmp):
    bundle = {"transfer_train": data.as_arrays("digits/5-9", "train", data_dir=tmp),
              "transfer_test": data.as_arrays("digits/5-9", "test", data_dir=tmp)}
    return evaluation.evaluate("probes", encoder, bundle, train_split="transfer_train",
                               test_split="transfer_test")


def test_simclr_features_from_0_4_transfer_to_5_9_and_survive_pruning(tmp_path):
    """Paper B's transfer read-out: pruning preserves the transfer of label-free features."""
    tmp = str(tmp_path)
    x, _ = data.as_arrays("digits/0-4", "train", data_dir=tmp)
    plugin = registry.get_loss("simclr", seed=0, crop_scale=(0.6, 1.0))
    model = plugin.build_model(models.feature_model(models.build("convnet", (8, 8, 1), 5, seed=0)))
    pruned = prunekit.wrap(model, exclude=plugin.head_layer_names(model))
    pruned.compile(keras.optimizers.Adam(2e-3), loss=plugin.loss())
    train = plugin.training_data(tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=0),
                                 batch_size=128)
    pruned.fit(train, epochs=8, verbose=0)  # dense: no pruning callback, masks all ones
    dense = _probe_5_9(plugin.encoder(pruned), tmp)
    step = int(pruned.optimizer.iterations.numpy())
    callback = prunekit.PruningCallback("magnitude", schedules.OneShot(0.7, at_step=step))
    pruned.fit(train, epochs=16, initial_epoch=8, verbose=0, callbacks=[callback])
    assert [e["step"] for e in callback.events] == [step]
    after = _probe_5_9(plugin.encoder(prunekit.strip(pruned)), tmp)

    # Digits 5-9 were never seen in training and no labels were used on 0-4.
    assert dense["linear_probe_accuracy"] > 0.8 and after["linear_probe_accuracy"] > 0.8  # chance 0.2
    assert after["linear_probe_accuracy"] >= dense["linear_probe_accuracy"] - 0.05
    kernels = [w.numpy() for w in pruned.trainable_weights if "kernel" in w.name and "head" not in w.name]
    assert abs(1 - np.count_nonzero(np.concatenate([k.ravel() for k in kernels])) /
               sum(k.size for k in kernels) - 0.7) < 0.01
