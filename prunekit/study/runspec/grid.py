"""Config validation and grid expansion: a study config -> a list of resolved run specs.

A study config (``configs/*.py``, an ml_collections ``ConfigDict``) has these fields:

=================  ==========================================================================
``study``          the study's name (used in the report)
``dataset``        TFDS name (``digits``, ``digits/0-4``, ``mnist``, ``cifar10``, ...)
``data_dir``       TFDS data directory for prepared data ('' = TFDS default)
``model``          catalogue name for ``prunekit.models.build``; ``model_options`` its options
``train``          ``epochs, batch_size, optimizer, learning_rate, momentum, weight_decay``
``losses``         label -> options of a loss plugin (``plugin`` = registered name, default label)
``criteria``       label -> options of a criterion plugin (``plugin`` as above)
``timings``        label -> a timing: ``kind`` is ``oneshot`` (``at``, ``steps``, ``split``,
                   ``finetune_epochs``, ``finetune_lr`` alias ``finetune_learning_rate``),
                   ``gradual`` (``begin``, ``end``, ``frequency``, ``power``, ``initial``)
                   or ``iterative`` (``rate``, ``rewind_to``, ``retrain_with_labels``: also
                   retrain the found mask with labels from the rewind point, paper B). Times use prunekit.timing's
                   vocabulary: a float is a fraction of training (0.0 = at initialisation,
                   1.0 = after training), an int or "200" optimizer steps, "3ep" epochs,
                   "50%" a fraction; oneshot/gradual entries become prunekit.timing.OneShot /
                   Gradual and are validated by them (see prunekit.study.runspec.timings);
                   ``set`` / ``rigl`` (``update_every``, ``drop_fraction``, ``end``,
                   ``distribution``: prunekit.timing.DynamicSparse, with a magnitude criterion).
                   Any timing may carry ``criteria``: the comma-separated criteria labels it
                   is crossed with (default all), e.g. pruning at initialisation with every
                   criterion but gradual pruning with magnitude only. ``imp`` (``rounds``,
                   ``rewind_to``): IMP with rewinding inside the run's one training length
                   (matched budget; ``iterative`` instead trains the full length per round).
``sparsities``     targets in [0, 1); ``seeds`` model seeds (a population for PIEs)
``scope``          ``layer`` or ``global`` ranking
``prune_heads``    also prune the loss plugin's heads (``head_*`` layers: classifier,
                   projection); default False: only the encoder is pruned, the heads stay
                   dense. Paper A pruned the linear classifier head too (set True to match).
``dense_baseline`` also train one dense run per (loss, seed): the reference population
``evaluation``     evaluator name -> options (the suite's, prunekit.evaluation.suite)
``artefacts``      ``masks``, ``predictions``: what each run saves for population metrics
``strategy``       '' or ``mirrored`` (tf.distribute for a single run)
``tensorboard``    write TensorBoard logs per run; ``verbose`` Keras verbosity
``findings``       question -> the paper's finding, quoted next to the measured one in the report
``only``           optional subset of the grid: ``losses``, ``criteria``, ``timings`` each a
                   comma-separated list of labels to keep ('' = all), e.g.
                   ``--config.only.criteria=magnitude_lam0 --config.only.timings=oneshot_pi14``;
                   the kept runs have the identities they have in the full grid
=================  ==========================================================================

The grid is losses x criteria x timings x sparsities x seeds (+ the dense baseline). Every
run is validated before any training: all problems are reported, one line each.
"""
from __future__ import annotations

import itertools
import math
import numbers

from prunekit.study.runspec import identity, timings
from prunekit.study.runspec.fields import (ALIASES, DYNAMIC_KINDS, ONE_FIT_KINDS, OPTIMIZERS, STRATEGIES, TIMING_FIELDS, TRAIN_FIELDS, ConfigError,
                                           check_limits, suggest)
from prunekit.study.runspec.types import Plugin, RunSpec, Timing, Training


def _plain(value):
    """ConfigDict / FrozenConfigDict / tuples -> dicts and lists."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_fraction(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and 0.0 <= float(x) <= 1.0


def check_timing(label: str, timing: dict, epochs=None) -> list[str]:
    """Problems with one timing entry (field names, kinds, values), as one-line messages;
    oneshot and gradual entries are checked by building their prunekit.timing objects."""
    where = f"timings.{label}"
    kind = timing.get("kind")
    if kind not in TIMING_FIELDS:
        return [f"{where}.kind: unknown timing kind {kind!r}{suggest(kind, TIMING_FIELDS)}; "
                f"kinds: {', '.join(TIMING_FIELDS)}"]
    problems = []
    fields = TIMING_FIELDS[kind]
    for key in timing:
        if ALIASES.get(key, key) not in fields:
            problems.append(f"{where}: {kind} timing has no field {key!r}{suggest(key, fields)}; "
                            f"fields: {', '.join(k for k in fields if k != 'kind')}")
    t = {**fields, **{ALIASES.get(k, k): v for k, v in timing.items()}}
    if kind in ONE_FIT_KINDS:
        if not problems:
            problems += timings.problems(where, t, epochs)
        return problems
    if not (isinstance(t["rate"], numbers.Real) and 0 < t["rate"] < 1):
        problems.append(f"{where}.rate must be in (0, 1), got {t['rate']!r}")
    if not _is_fraction(t["rewind_to"]) or t["rewind_to"] >= 1:
        problems.append(f"{where}.rewind_to must be a fraction of training in [0, 1), got {t['rewind_to']!r}")
    if not isinstance(t["retrain_with_labels"], bool):
        problems.append(f"{where}.retrain_with_labels must be True or False, got {t['retrain_with_labels']!r}")
    return problems


def resolve_timing(label: str, timing: dict) -> dict:
    """The entry with its defaults; ``finetune_lr`` is stored as ``finetune_learning_rate``
    (either spelling gives the same run identity)."""
    timing = {ALIASES.get(k, k): v for k, v in timing.items()}
    return {**{k: v for k, v in TIMING_FIELDS[timing["kind"]].items()}, **timing, "label": label}


def iterative_rounds(sparsity: float, rate: float) -> int:
    """Rounds of pruning ``rate`` of the remaining weights needed to reach ``sparsity``.

    A sparsity written to a few decimals (0.738 for 1 - 0.8**6 = 0.7379) counts as the nearest
    whole number of rounds when within 0.05 rounds of it; otherwise rounds up."""
    if sparsity <= 0:
        return 0
    x = math.log(1 - sparsity) / math.log(1 - rate)
    nearest = round(x)
    return max(1, nearest if abs(x - nearest) <= 0.05 else math.ceil(x))


def _entries(section: dict, what: str, problems: list) -> dict:
    out = {}
    for label, opts in (section or {}).items():
        opts = dict(opts or {})
        plugin = opts.pop("plugin", label)
        out[label] = Plugin(label, plugin, opts)
    if not out:
        problems.append(f"config.{what} is empty: give at least one entry")
    return out


def _timing_entries(c: dict, epochs, problems: list) -> tuple[dict, dict]:
    """``(entries, restrict)``: resolved timings, and per label the criteria labels it is
    crossed with (its optional ``criteria`` field, comma-separated; absent = all)."""
    entries, restrict = {}, {}
    for label, t in (c.get("timings") or {}).items():
        t = dict(t or {})
        chosen = [x.strip() for x in str(t.pop("criteria", "") or "").split(",") if x.strip()]
        if chosen:
            restrict[label] = chosen
        found = check_timing(label, t, epochs)
        problems += found
        if not found:
            entries[label] = resolve_timing(label, t)
    if not c.get("timings"):
        problems.append("config.timings is empty: give at least one timing")
    return entries, restrict


def _check_pairs(entries: dict, restrict: dict, criteria: dict, scope, problems: list) -> None:
    """A timing's ``criteria`` names known criteria; set/rigl drop by magnitude only."""
    for label, chosen in restrict.items():
        problems += [f"timings.{label}.criteria: no criterion labelled {x!r}{suggest(x, criteria)}"
                     for x in chosen if x not in criteria]
    for label, t in entries.items():
        if t["kind"] not in DYNAMIC_KINDS:
            continue
        if scope not in ("layer", "erk") or (scope == "erk" and t["distribution"] != "erk"):
            problems.append(f"timings.{label} ({t['kind']}) sets per-layer sparsities by its distribution "
                            f"{t['distribution']!r}: scope must be 'layer'{' or erk' if t['distribution'] == 'erk' else ''}, "
                            f"got {scope!r}")
        for crit in criteria.values():
            if label in restrict and crit.label not in restrict[label]:
                continue
            if crit.plugin != "magnitude" or crit.options.get("lam"):
                problems.append(f"timings.{label} ({t['kind']}) drops weights by magnitude: it cannot run with "
                                f"criteria.{crit.label} ({crit.plugin}); add criteria=<a magnitude label> to the timing")


def _train(c: dict, problems: list) -> dict:
    train = dict(c.get("train") or {})
    for key in train:
        if key not in TRAIN_FIELDS:
            problems.append(f"train has no field {key!r}{suggest(key, TRAIN_FIELDS)}")
    train = {**TRAIN_FIELDS, **train}
    if not (isinstance(train["epochs"], numbers.Integral) and train["epochs"] >= 1):
        problems.append(f"train.epochs must be an integer >= 1, got {train['epochs']!r}")
    if not (isinstance(train["batch_size"], numbers.Integral) and train["batch_size"] >= 1):
        problems.append(f"train.batch_size must be an integer >= 1, got {train['batch_size']!r}")
    if train["optimizer"] not in OPTIMIZERS:
        problems.append(f"train.optimizer {train['optimizer']!r} unknown{suggest(train['optimizer'], OPTIMIZERS)}; "
                        f"choices: {', '.join(OPTIMIZERS)}")
    return train


def _axes(c: dict, problems: list):
    """(sparsities, seeds, scope, strategy, prune_heads), each checked."""
    from prunekit.masks import SCOPES, check_scope, parse_nm  # the one definition of the ranking scopes

    sparsities = list(c.get("sparsities") or [])
    for s in sparsities:
        if not (isinstance(s, numbers.Real) and 0 <= s < 1):
            problems.append(f"sparsities: {s!r} is not in [0, 1)")
    if not sparsities:
        problems.append("config.sparsities is empty")
    seeds = list(c.get("seeds") or [])
    if not seeds or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in seeds):
        problems.append(f"config.seeds must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        problems.append(f"config.seeds has duplicates: {seeds!r}")
    scope = c.get("scope", "layer")
    try:
        nm = parse_nm(check_scope(scope))
    except ValueError as e:
        nm = None
        problems.append(f"{e}{suggest(scope, SCOPES) if isinstance(scope, str) else ''}")
    for s in sparsities if nm else ():
        if s and abs(s - (1 - nm[0] / nm[1])) > 1e-9:
            problems.append(f"sparsities: {s!r} with scope {scope!r}; an N:M pattern fixes the sparsity "
                            f"at 1 - N/M = {1 - nm[0] / nm[1]:g}")
    strategy = c.get("strategy", "")
    if strategy not in STRATEGIES:
        problems.append(f"strategy {strategy!r} unknown{suggest(strategy, STRATEGIES)}; choices: '', mirrored")
    prune_heads = c.get("prune_heads", False)
    if not isinstance(prune_heads, bool):
        problems.append(f"prune_heads must be True or False, got {prune_heads!r}")
    return sparsities, seeds, scope, strategy, prune_heads


def _only(c: dict, sections: dict, problems: list) -> None:
    """Drops the entries ``config.only`` leaves out (in place)."""
    for key, value in dict(c.get("only") or {}).items():
        if key not in sections:
            problems.append(f"only has no field {key!r}{suggest(key, sections)}; fields: losses, criteria, timings")
            continue
        keep = [l.strip() for l in str(value or "").split(",") if l.strip()]
        known = sections[key] if key != "timings" else {l: 1 for l in (c.get("timings") or {})}
        for label in keep:
            if label not in known:
                problems.append(f"only.{key}: no {key} entry labelled {label!r}{suggest(label, known)}")
        if keep:
            for label in list(sections[key]):
                if label not in keep:
                    del sections[key][label]


def _installed(c: dict, losses, criteria, evaluation, checks) -> list:
    """What only the installed plugins, models, datasets and evaluators can tell."""
    from prunekit.study.runspec import validate

    data_dir = c.get("data_dir") or None
    problems = validate.plugins("loss", losses) + validate.plugins("criterion", criteria)
    problems += validate.evaluators(evaluation, data_dir)
    if checks is not None:
        problems += validate.findings(c.get("findings") or {}, checks)
    problems += validate.model(c.get("model"), c.get("model_options") or {})
    problems += validate.dataset(c.get("dataset"), data_dir)
    if not problems:  # everything exists: what would fail every run of a combination
        problems += validate.compatibility(c, losses, criteria)
    return problems


def expand(config, check_plugins=True, checks=None) -> list[RunSpec]:
    """All run specs of a study config, in a fixed order, after validating the whole grid.

    ``checks``: the names of the report's findings checks (validated when given). Raises
    :class:`ConfigError` listing every problem found; nothing is trained before.
    """
    c = _plain(config)
    problems: list[str] = []
    losses = _entries(c.get("losses"), "losses", problems)
    criteria = _entries(c.get("criteria"), "criteria", problems)
    entries, restrict = _timing_entries(c, dict(c.get("train") or {}).get("epochs", TRAIN_FIELDS["epochs"]), problems)
    train = _train(c, problems)
    sparsities, seeds, scope, strategy, prune_heads = _axes(c, problems)
    evaluation = {k: dict(v or {}) for k, v in (c.get("evaluation") or {"accuracy": {}}).items()}
    _check_pairs(entries, restrict, criteria, c.get("scope", "layer"), problems)
    _only(c, {"losses": losses, "criteria": criteria, "timings": entries}, problems)
    problems += check_limits(c.get("divergence"))
    if check_plugins:
        problems += _installed(c, losses, criteria, evaluation, checks)
    if problems:
        raise ConfigError(problems)
    artefacts = c.get("artefacts", {})
    common = dict(dataset=c["dataset"], data_dir=c.get("data_dir") or None, model=c["model"],
                  model_options=c.get("model_options") or {}, train=Training(**train), evaluation=evaluation,
                  save_masks=bool(artefacts.get("masks", True)), save_predictions=bool(artefacts.get("predictions", True)),
                  prune_heads=prune_heads, strategy=strategy, tensorboard=bool(c.get("tensorboard", False)),
                  verbose=int(c.get("verbose", 0)), divergence=dict(c.get("divergence") or {}))
    specs = []
    for loss in losses.values():
        if c.get("dense_baseline", True):
            specs += [RunSpec(loss=loss, criterion=None, scope=None, timing=Timing("dense", "dense"),
                              sparsity=0.0, seed=int(seed), **common) for seed in seeds]
        for crit, timing, sparsity in itertools.product(criteria.values(), entries.values(), sparsities):
            if timing["label"] in restrict and crit.label not in restrict[timing["label"]]:
                continue
            t = dict(timing)
            if t["kind"] == "iterative":
                t["rounds"] = iterative_rounds(float(sparsity), t["rate"])
            specs += [RunSpec(loss=loss, criterion=crit, scope=scope, timing=Timing(**t), sparsity=float(sparsity),
                              seed=int(seed), **common) for seed in seeds]
    return _unique(specs)


def _unique(specs: list) -> list:
    """Identical runs (e.g. sparsity 0 under several criteria) once, first kept."""
    seen, unique = set(), []
    for spec in specs:
        rid = identity.run_id(spec)
        if rid not in seen:
            seen.add(rid)
            unique.append(spec)
    return unique


def describe(spec) -> str:
    """A short human name for a run: loss/criterion/timing/sparsity/seed."""
    return RunSpec.coerce(spec).describe()


__all__ = ["expand", "check_timing", "resolve_timing", "iterative_rounds", "describe", "ConfigError"]
