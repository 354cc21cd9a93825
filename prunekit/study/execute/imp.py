"""Iterative magnitude pruning with rewinding inside a study run (paper B), and the retrain of
its mask with labels (:mod:`~prunekit.study.execute.label_retrain`)."""
from __future__ import annotations

import os

from prunekit.study import pruning
from prunekit.study.execute import model as model_lib
from prunekit.study.execute.failed import check_healthy


def run(spec, prepared, fit: dict, data, eval_batch):
    """``rounds`` rounds of train ``epochs`` / prune ``rate`` of the remaining / rewind to
    ``rewind_to`` (a time in the first round's training), then the final mask is retrained
    once more; each round restarts the optimizer and sees the same data order. Returns the
    last training's history, one record per round (the fields of a one-shot event record,
    ``round``, ``target``, ``rewind_step``, ``local`` and ``mask_path``: ``masks/round_<r>.npz``
    when masks are saved) and the rewind weights (None at sparsity 0)."""
    import tf_keras as keras

    model, t, train = prepared.model, spec.timing, spec.train
    histories = []

    def compile_(m):
        with prepared.strategy.scope():
            m.compile(optimizer=model_lib.optimizer(train, keras), loss=prepared.plugin.loss(),
                      metrics=prepared.plugin.metrics())

    def fit_(m, callbacks):
        kw = dict(fit, callbacks=list(fit["callbacks"]) + list(callbacks))
        h = m.fit(epochs=train.epochs, **kw).history
        check_healthy(h, f"round {len(histories) + 1}", spec.divergence)
        histories.append(h)

    if not t.rounds:  # sparsity 0: nothing to prune
        fit_(model, [])
        return histories[-1], [], None
    out_dir = prepared.out_dir if spec.save_masks else None
    result = pruning.iterative(
        model, rounds=t.rounds, rate=t.rate, rewind_to=t.rewind_to, compile=compile_, fit=fit_,
        criterion=model_lib.criterion(spec), scope=spec.scope,
        data=(data.x_train, data.y_train if prepared.plugin.needs_labels else None),
        num_examples=min(1000, len(data.x_train)), steps_per_epoch=fit["steps_per_epoch"], epochs=train.epochs,
        loss=prepared.plugin, eval_batch=eval_batch, mask_dir=os.path.join(out_dir, "masks") if out_dir else None)
    rounds = []
    for r in result.rounds:
        record = {k: v for k, v in r["record"].items() if k not in ("result", "mask_path")}
        rounds.append({**r["event"], **record, "round": r["round"], "target": r["target"],
                       "rewind_step": result.rewind_step, "local": r["record"]["result"],
                       **({"mask_path": os.path.relpath(r["mask_path"], out_dir)} if out_dir else {})})
    return histories[-1], rounds, result.rewind


def retrain_with_labels(spec, model, plugin, rewind_weights, metrics: dict, data) -> dict:
    """Paper B: the run's mask retrained with labels from its rewind point (every loss alike)."""
    import tensorflow as tf
    import tf_keras as keras

    from prunekit.study.execute import label_retrain
    from prunekit.study.execute.step_cap import capped_fit

    if rewind_weights is None:  # sparsity 0: no mask to retrain
        return {}
    ds_train = tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train)).shuffle(
        len(data.x_train), seed=spec.seed, reshuffle_each_iteration=True)
    train = spec.train
    return label_retrain.retrain(model, plugin, rewind_weights, train_data=ds_train,
                                 test_data=(data.x_test, data.y_test), num_classes=data.num_classes,
                                 epochs=train.epochs, batch_size=train.batch_size, seed=spec.seed,
                                 make_optimizer=lambda: model_lib.optimizer(train, keras),
                                 fit_kwargs={"verbose": spec.verbose, **capped_fit()})


__all__ = ["run", "retrain_with_labels"]
