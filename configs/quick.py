r"""Quick study: the default of `make study`; a small timing grid on the embedded digits.

Command:
    prunekit-study --config=configs/quick.py --workdir=runs/quick

Grid: 2 losses (cross_entropy, supcon) x 2 criteria (magnitude, random) x 3 timings
(gradual early, gradual late, one-shot after training + 1 fine-tuning epoch) x 2 sparsities
(0.5, 0.9) x 2 seeds, plus a dense run per (loss, seed): 52 runs of a 32-16 MLP, 3 epochs
each, on digits (1,437 train / 360 test images, 8x8). The encoder is pruned; the loss
plugins' heads stay dense (prune_heads=False). SupCon runs are scored by a k-NN readout.

Reproduces (in miniature, not as evidence) the shape of paper A's question: does the
damage of pruning depend on the loss and on when pruning happens? Expected run time:
about 2 minutes on 2 CPU cores (TensorFlow start-up included; measured 1 min 56 s wall,
112 s user+sys CPU, on a shared 2-core machine; with the shared dense trunk, one per
(loss, seed), 2,484 instead of 3,956 optimizer steps: 1 min 50 s wall, 69 s user+sys CPU at
load average 4.8).
"""
import ml_collections


def get_config(variant=None):
    c = ml_collections.ConfigDict()
    c.study = "quick"
    c.dataset = "digits"
    c.data_dir = ""
    c.model = "mlp"
    c.model_options = ml_collections.ConfigDict({"widths": (32, 16)})
    c.train = ml_collections.ConfigDict(dict(epochs=3, batch_size=64, optimizer="sgd", learning_rate=0.1,
                                             momentum=0.9, weight_decay=0.0))
    c.losses = ml_collections.ConfigDict({
        "cross_entropy": {"augment": False},
        "supcon": {"temperature": 0.5, "base_temperature": 0.07, "augment": False},
    })
    c.criteria = ml_collections.ConfigDict({"magnitude": {}, "random": {}})
    c.timings = ml_collections.ConfigDict({
        "gradual_early": {"kind": "gradual", "begin": 0.0, "end": 0.5, "frequency": 0.1},
        "gradual_late": {"kind": "gradual", "begin": 0.4, "end": 0.8, "frequency": 0.1},
        "oneshot_after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1, "finetune_learning_rate": 0.02},
    })
    c.sparsities = (0.5, 0.9)
    c.seeds = (0, 1)
    c.scope = "layer"
    c.prune_heads = False  # heads (head_* layers) stay dense; only the encoder is pruned
    c.dense_baseline = True
    # Runs differing only in when pruning starts share one dense trunk per (loss, seed)
    # (prunekit.study.trunk): same results, fewer optimizer steps; False trains every run alone.
    c.share_trunk = True
    c.evaluation = ml_collections.ConfigDict({"accuracy": {}, "sparsity": {}, "knn": {"k": 20}})
    c.artefacts = ml_collections.ConfigDict({"masks": True, "predictions": True})
    c.strategy = ""
    c.tensorboard = False
    c.verbose = 0
    c.findings = ml_collections.ConfigDict({
        "early vs late pruning": {"claim": "paper A: damage is largest when pruning starts early in training",
                                  "check": "early_hurts_more",
                                  "early": "gradual_early", "late": "gradual_late"},
        "gradual vs one-shot": {"claim": "paper D: at equal sparsity gradual beats one-shot",
                                "check": "gradual_beats_oneshot"},
        "PIEs by loss": {"claim": "paper A: at high sparsity contrastive models have more PIEs than CE",
                         "check": "contrastive_more_pies"},
    })
    return c
