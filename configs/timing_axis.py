r"""The pruning-time axis (issue 16): every regime side by side at matched sparsity and budget.

Command:
    prunekit-study --config=configs/timing_axis.py:digits --workdir=runs/timing-axis-digits
    prunekit-study --config=configs/timing_axis.py:mnist1d --workdir=runs/timing-axis-mnist1d
    prunekit-study --config=configs/timing_axis.py:cifar10 --workdir=runs/timing-axis-cifar10 \
        --config.data_dir=/path/to/tfds   (GPU; prepared TFDS cifar10)

Regimes (timing labels), all magnitude-ranked layer-wise unless named, at every sparsity:
  at_init        one-shot at step 0 with snip, grasp, synflow, magnitude and random, then trained
  gradual_early  Zhu & Gupta cubic GMP over 10-50 % of training
  gradual_late   the same over 40-80 %
  oneshot_after  one-shot after the first 75 % of the budget, fine-tuned (mask fixed) for the last 25 %
  imp            IMP with rewinding, 3 rounds inside the budget (4 segments; rewind to 10 % of the first)
  set, rigl      dynamic sparse training from step 0 (drop 0.3, cosine-decayed to 0 at 75 %)
  dense          the dense baseline
Matched budget: the study counts a run's optimizer steps as epochs * steps per epoch, plus the
fine-tuning epochs of a one-shot and the per-round retraining of ``iterative``
(RunSpec.total_steps). Here every regime takes exactly ``train.epochs`` epochs: the one-shot
arm prunes at 75 % and its fine-tuning is the last 25 % (no extra epochs, same learning rate),
and IMP uses the ``imp`` kind (prunekit.timing.Iterative in one fit: the budget split into
rounds + 1 segments, rate 1 - (1 - s)^(1/3) so it ends at exactly the same sparsity s) instead of
``iterative`` (a full training per round). So every run has total_steps = epochs * spe.
Layer-wise uniform sparsity for every regime (SET/RigL with distribution "uniform"), so the
regimes differ in when and how the mask is found, not in its per-layer densities.

Report: test accuracy vs sparsity per regime (mean and 95 % t-interval over seeds), the size
evaluator's non-zero parameters and dense / sparse FLOPs per example, and two calibrated findings:
after_training_beats_init (paired sign-flip per (sparsity, at-init criterion) cell, Holm, rule
any) and rigl_matches_gradual (TOST within +-0.02 per sparsity, rule all).

digits: lenet300_100 on the embedded digits (1,437 training images), 12 epochs of 23 steps,
2 sparsities (0.8, 0.95) x 11 pruned regimes x 10 seeds + 10 dense = 230 runs. Seeds: the
at-init finding has 10 cells (2 sparsities x 5 criteria); an exact one-sided sign-flip test over
n seeds has smallest p 1/2^n, which must survive Holm over 10 cells and the 2 findings
(10 / 2^n < 0.025): n >= 9, so 10 seeds. Minimum detectable effect: with 10 seeds a cell resolves
only when (nearly) every seed's difference has the claimed sign, i.e. a mean difference of about
2.5 sd of the per-seed differences (calibrated in tests/test_timing_axis_verdicts.py: power >= 0.5
at 0.025 for sd(d) 0.01); the smoke run shows after-vs-init gaps of 1.4-10.5 accuracy points at
s = 0.95. TOST (margin 0.02, 10 seeds) resolves when |mean gap| + 1.8 sd(d) / sqrt(10) < 0.02 in
both cells, i.e. a true RigL-gradual gap below about 0.01 for sd(d) 0.015.
Measured 2026-12-03 on 2 CPU cores shared with other jobs: digits 230 runs, 0 failed, 12 min 08 s
wall (10 min CPU); findings "not measured: below floor" (dense 0.971 vs raw-pixel floor 0.969).
mnist1d 96 runs, 0 failed, 14 min 23 s wall; dense 0.952, gradual_late 0.807, rigl 0.687,
oneshot_after 0.594, at-init 0.573-0.615; both findings resolved (contradicted: RigL 12 points
below gradual, p 0.0007; one-shot after 75 % does not beat at-init at this budget).
Time: smoke run (12 runs, one seed, s = 0.95) measured 159 s of run time (4 s CPU per run) on
a 2-core machine shared at load 12; estimated 230 x 4 s = 15 min on 2 free cores, within 30.
mnist1d: conv1d (the MNIST-1D paper's CNN) on 20,000 signals, 10 epochs of 79 steps, batch 256,
SGD 0.1, sparsity 0.9, 8 seeds: 11 x 8 + 8 = 96 runs. The digits variant cannot clear the
floors (below): raw pixels give 0.969 by logistic regression, LeNet-300-100 0.961-0.975 and the
best digits recipe measured (a 30-epoch convnet) 0.988, under the 0.969 + 0.02 a verdict needs,
so its findings read "not measured: below floor"; on MNIST-1D raw signals give 0.33 (logistic
regression) / 0.64 (k-NN) and conv1d about 0.96. Seeds: one sparsity gives 5 at-init cells and
1 TOST cell; with 8 seeds the one-sided sign-flip test's smallest p, 1/2^8 = 0.0039, survives
Holm over those 6 tests (0.023 < 0.05).
cifar10: resnet20 (the catalogue's), 160 epochs, batch 128, SGD 0.1, 3 sparsities, 3 seeds:
102 runs, estimated 4-5 days on one GPU (about an hour per run). Qualitative only: with 3 seeds
the sign-flip test cannot resolve (it needs >= 6 pairs before Holm); raise --config.seeds for verdicts.

Smoke run (1 seed, one sparsity, every regime: 12 runs, about 1-3 minutes):
    prunekit-study --config=configs/timing_axis.py:digits --workdir=/tmp/ta \
        --config.seeds="(0,)" --config.sparsities="(0.95,)"
Only the regimes named (e.g. dynamic sparse training against gradual pruning):
    prunekit-study --config=configs/timing_axis.py:digits --workdir=/tmp/ta-dst \
        --config.only.timings=set,rigl,gradual_late --config.only.criteria=magnitude --config.seeds="(0,1)"
"""
import ml_collections

VARIANTS = {
    "digits": dict(dataset="digits", model="lenet300_100", epochs=12, batch_size=64, learning_rate=0.05,
                   seeds=tuple(range(10)), sparsities=(0.8, 0.95), update_every=12),
    "mnist1d": dict(dataset="mnist1d", model="conv1d", epochs=10, batch_size=256, learning_rate=0.1,
                    seeds=tuple(range(8)), sparsities=(0.9,), update_every=50),
    "cifar10": dict(dataset="cifar10", model="resnet20", epochs=160, batch_size=128, learning_rate=0.1,
                    seeds=(0, 1, 2), sparsities=(0.8, 0.9, 0.95), update_every=100),
}
AT_INIT = ("snip", "grasp", "synflow", "magnitude", "random")


def get_config(variant="digits"):
    v = VARIANTS[variant or "digits"]
    c = ml_collections.ConfigDict()
    c.study = f"timing_axis:{variant or 'digits'}"
    c.dataset = v["dataset"]
    c.data_dir = ""
    c.model = v["model"]
    c.model_options = ml_collections.ConfigDict({})
    c.train = ml_collections.ConfigDict(dict(epochs=v["epochs"], batch_size=v["batch_size"], optimizer="sgd",
                                             learning_rate=v["learning_rate"], momentum=0.9, weight_decay=1e-4))
    c.losses = ml_collections.ConfigDict({"cross_entropy": {"augment": False}})
    c.criteria = ml_collections.ConfigDict({name: {} for name in AT_INIT})
    dst = dict(update_every=v["update_every"], drop_fraction=0.3, end=0.75, distribution="uniform",
               criteria="magnitude")
    c.timings = ml_collections.ConfigDict({
        "at_init": {"kind": "oneshot", "at": 0.0, "criteria": ",".join(AT_INIT)},
        "gradual_early": {"kind": "gradual", "begin": 0.1, "end": 0.5, "frequency": 0.02, "criteria": "magnitude"},
        "gradual_late": {"kind": "gradual", "begin": 0.4, "end": 0.8, "frequency": 0.02, "criteria": "magnitude"},
        "oneshot_after": {"kind": "oneshot", "at": 0.75, "criteria": "magnitude"},
        "imp": {"kind": "imp", "rounds": 3, "rewind_to": 0.1, "criteria": "magnitude"},
        "set": {"kind": "set", **dst},
        "rigl": {"kind": "rigl", **dst},
    })
    c.sparsities = v["sparsities"]
    c.seeds = v["seeds"]
    c.scope = "layer"
    c.prune_heads = False  # heads (head_* layers) stay dense; only the encoder is pruned
    c.dense_baseline = True
    c.share_trunk = True  # gradual / one-shot runs branch from a shared dense trunk
    c.evaluation = ml_collections.ConfigDict({"accuracy": {}, "sparsity": {}, "size": {}})
    c.artefacts = ml_collections.ConfigDict({"masks": True, "predictions": True})
    c.only = ml_collections.ConfigDict({"losses": "", "criteria": "", "timings": ""})
    c.strategy = ""
    c.tensorboard = False
    c.verbose = 0
    c.findings = ml_collections.ConfigDict({
        "after vs at init": {"claim": "at matched budget, pruning after training beats pruning at initialisation",
                             "check": "after_training_beats_init", "after": "oneshot_after", "init": "at_init"},
        "RigL vs gradual": {"claim": "RigL matches gradual magnitude pruning (Evci et al. 2020)",
                            "check": "rigl_matches_gradual", "rigl": "rigl", "gradual": "gradual_late"},
    })
    return c
