r"""Paper D (Tartaglione et al. 2020): one-shot vs gradual pruning at equal sparsity.

Command:
    prunekit-study --config=configs/oneshot_vs_gradual.py:digits --workdir=runs/d-digits
    prunekit-study --config=configs/oneshot_vs_gradual.py:mnist1d --workdir=runs/d-mnist1d
    prunekit-study --config=configs/oneshot_vs_gradual.py:mnist --workdir=runs/d-mnist --config.data_dir=DIR

Reproduces: magnitude one-shot near the end of training (then fine-tuning with the mask fixed) vs
gradual magnitude pruning (Zhu and Gupta, 10-70 % of training; GMP stands in for the
authors' sensitivity method) at the same final sparsities, cross-entropy, with the
sharpness (filter-normalised perturbations, radius 0.05) and PSP-entropy of every run.
Variants: digits and mnist1d (offline, CPU), mnist (lenet300_100), cifar10 (resnet20, GPU).

Recipes (dense readout = the cross-entropy head on the test split; floors measured with
scripts/tune_recipe.py, 2026-12-03):
- digits: convnet 16-32-64 (LeNet-300-100 sits on the raw-pixel floor here: head 0.961 /
  0.972 at 10 epochs, seeds 0/1, where logistic regression on raw pixels gives 0.969),
  SGD 0.05 + momentum, batch 64, 30 epochs, mild crops (>= 80 % of the image, no flip, no
  colour jitter). Dense head 0.986 / 0.989 (seeds 0/1) vs floors: raw pixels 0.969 (logistic
  regression) / 0.967 (k-NN), untrained encoder 0.91 / 0.91: a margin of 1.7-2.0 points (6-7
  of 360 test images). Sparsities 0.8, 0.9, 0.95; 8 seeds; 56 runs. Measured with 6 seeds
  (42 runs, 2026-12-03): dense 0.988 (mean; 0.983-0.992) vs the floors above.
- mnist1d: conv1d (the MNIST-1D paper's CNN), SGD 0.1 + momentum, batch 256, 15 epochs,
  sparsities 0.8, 0.9, 0.95; 8 seeds; 56 runs. Floors: raw signals 0.332 (logistic
  regression) / 0.636 (k-NN), untrained conv1d 0.49 / 0.55. Measured with 6 seeds (42 runs):
  dense head 0.959 (mean; 0.946-0.965), 32 points above the best floor; gradual - one-shot
  +13.5 / +31.7 / +29.4 points at 0.8 / 0.9 / 0.95 (SD 4.7 / 8.9 / 9.5, 6 of 6 seeds in every
  cell), yet p = 0.19 after Holm with 6 seeds: 8 seeds resolve them (MDE with 8 seeds 4.6 /
  8.8 / 9.4 points).
Seeds: the exact paired sign-flip test over n seed pairs has smallest p-value 2/2^n; the
finding is Holm-adjusted over 3 sparsity cells x 2 findings = 6 tests, so a cell resolves only
with raw p <= 0.05/6, i.e. 2/2^n < 0.0083: n >= 8 seeds (6 seeds reach only 0.031 x 6 = 0.19).
Measured on digits with 6 seeds (gradual - one-shot, paired by seed): sparsity 0.8 +0.05
points (SD 0.59), 0.9 +1.25 (SD 1.18, 5 of 6 seeds), 0.95 +3.24 (SD 1.30, 6 of 6 seeds, p
0.094 after Holm: unresolved at 6 seeds, hence 8). Minimum detectable effect at 80 % power
with 8 seeds, (z_0.975 + z_0.8) SD / sqrt(8): 0.6, 1.2 and 1.3 points at 0.8, 0.9, 0.95; the
0.8 cell's +0.05 would need about 1,300 seeds (not resolvable at this scale).
Wall time: digits with 6 seeds, 42 runs: 36 min 40 s wall at load average 13-19 on the 2
shared cores (5 engineers' jobs), 395 s user+sys CPU (2026-12-03); 8 seeds add a third (about
9 CPU-minutes: within 30 minutes on 2 idle cores, not measured). mnist1d with 6 seeds, 42
runs: 37 min 52 s wall at load average 15-19, 502 s user+sys CPU; 8 seeds: about 11
CPU-minutes (not measured).
Budgets are matched: one-shot prunes after ``epochs - ft`` epochs and fine-tunes for the last
``ft`` epochs at the training learning rate, so both arms take the same optimizer steps (the
paired differences above were measured before this, with ``ft`` extra fine-tuning epochs at
learning rate 0.005 for one-shot).
"""
import ml_collections

VARIANTS = {
    "digits": dict(dataset="digits", model="convnet", model_options={"filters": (16, 32), "hidden": 64}, epochs=30,
                   batch_size=64, seeds=tuple(range(8)), ft=3, sparsities=(0.8, 0.9, 0.95),
                   augment={"crop_scale": (0.8, 1.0), "flip": False, "jitter": (0.0, 0.0, 0.0, 0.0)}),
    "mnist": dict(dataset="mnist", model="lenet300_100", epochs=30, batch_size=128, seeds=(0, 1, 2, 3, 4), ft=10),
    "cifar10": dict(dataset="cifar10", model="resnet20", epochs=160, batch_size=128, seeds=(0, 1, 2), ft=40),
    "mnist1d": dict(dataset="mnist1d", model="conv1d", epochs=15, batch_size=256, lr=0.1, seeds=tuple(range(8)), ft=3,
                    sparsities=(0.8, 0.9, 0.95)),
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
    ce = {"augment": True, **augment} if augment else {"augment": False}
    c.losses = ml_collections.ConfigDict({"cross_entropy": ce})
    c.criteria = ml_collections.ConfigDict({"magnitude": {}})
    c.timings = ml_collections.ConfigDict({
        # Matched budget: one-shot prunes ft epochs before the end and fine-tunes for the rest of
        # the same epochs, so both arms take the same optimizer steps (issue 13).
        "oneshot_after": {"kind": "oneshot", "at": round(1.0 - v["ft"] / v["epochs"], 6)},
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
