r"""Paper D (Tartaglione et al. 2020): one-shot vs gradual pruning at equal sparsity.

Command:
    prunekit-study --config=configs/oneshot_vs_gradual.py:digits --workdir=runs/d-digits
    prunekit-study --config=configs/oneshot_vs_gradual.py:mnist --workdir=runs/d-mnist --config.data_dir=DIR

Reproduces: magnitude one-shot after training (then fine-tuning with the mask fixed) vs
gradual magnitude pruning (Zhu and Gupta, 10-70 % of training; GMP stands in for the
authors' sensitivity method) at the same final sparsities, cross-entropy, with the
sharpness (filter-normalised perturbations, radius 0.05) and PSP-entropy of every run. Variants: digits
(LeNet-300-100 style MLP, 3 seeds; 27 runs, measured 1 min 28 s on 2 CPU cores), mnist (lenet300_100),
cifar10 (resnet20, GPU).
"""
import ml_collections

VARIANTS = {
    "digits": dict(dataset="digits", model="convnet", model_options={"filters": (16, 32), "hidden": 64}, epochs=30,
                   batch_size=64, seeds=tuple(range(6)), ft=3, sparsities=(0.8, 0.9, 0.95),
                   augment={"crop_scale": (0.8, 1.0), "flip": False, "jitter": (0.0, 0.0, 0.0, 0.0)}),
    "mnist": dict(dataset="mnist", model="lenet300_100", epochs=30, batch_size=128, seeds=(0, 1, 2, 3, 4), ft=10),
    "cifar10": dict(dataset="cifar10", model="resnet20", epochs=160, batch_size=128, seeds=(0, 1, 2), ft=40),
    "mnist1d": dict(dataset="mnist1d", model="conv1d", epochs=20, batch_size=128, seeds=tuple(range(6)), ft=3),
}


def get_config(variant="digits"):
    v = VARIANTS[variant or "digits"]
    c = ml_collections.ConfigDict()
    c.study = f"oneshot_vs_gradual:{variant or 'digits'}"
    c.dataset = v["dataset"]
    c.data_dir = ""
    c.model = v["model"]
    c.model_options = ml_collections.ConfigDict(v.get("model_options", {}))
    c.train = ml_collections.ConfigDict(dict(epochs=v["epochs"], batch_size=v["batch_size"], optimizer="sgd",
                                             learning_rate=v.get("lr", 0.05), momentum=0.9, weight_decay=1e-4))
    augment = v.get("augment")
    c.losses = ml_collections.ConfigDict({"cross_entropy": {"augment": True, **augment} if augment else {"augment": False}})
    c.criteria = ml_collections.ConfigDict({"magnitude": {}})
    c.timings = ml_collections.ConfigDict({
        "oneshot_after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": v["ft"], "finetune_learning_rate": 0.005},
        "gradual": {"kind": "gradual", "begin": 0.1, "end": 0.7, "frequency": 0.02},
    })
    c.sparsities = v.get("sparsities", (0.5, 0.8, 0.9, 0.95))
    c.seeds = v["seeds"]
    c.scope = "layer"
    c.prune_heads = False  # heads (head_* layers) stay dense; only the encoder is pruned
    c.dense_baseline = True
    c.share_trunk = True  # runs branch from a shared dense trunk (prunekit/study/trunk.py)
    c.evaluation = ml_collections.ConfigDict({"accuracy": {}, "sparsity": {},
                                              "sharpness": {"radius": 0.05, "num_directions": 5},
                                              "psp_entropy": {}})
    c.artefacts = ml_collections.ConfigDict({"masks": True, "predictions": True})
    c.strategy = ""
    c.tensorboard = True
    c.verbose = 0
    c.findings = ml_collections.ConfigDict({
        "accuracy": {"claim": "at equal sparsity gradual beats one-shot", "check": "gradual_beats_oneshot"},
        "sharpness and PSP-entropy": {"claim": "gradual pruning reaches sharper minima that still generalise, "
                                               "with higher PSP-entropy",
                                      "check": "gradual_sharper_higher_psp_entropy"},
    })
    return c
