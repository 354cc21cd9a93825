"""The ``prunekit-study`` command line: its flags, parsing and one-line errors.

Config fields are overridden as ``--config.field=value`` (locked: a misspelled field fails
with a suggestion); ``--flagfile`` works as in any absl program.
"""
from __future__ import annotations

import importlib.util
import os
import re
import sys

from absl import flags
from ml_collections import config_flags


def _define_flags(argv):
    """A fresh set of flags per invocation (so main() can be called repeatedly, e.g. in tests)."""
    fv = flags.FlagValues()
    config = config_flags.DEFINE_config_file("config", None, "study config: configs/<study>.py[:variant]",
                                             flag_values=fv, lock_config=True, sys_argv=argv)
    flags.DEFINE_string("workdir", None, "work directory (created; reused to resume)", flag_values=fv)
    flags.DEFINE_enum("executor", "inprocess", ["inprocess", "ray"], "where runs execute", flag_values=fv)
    flags.DEFINE_string("ray_address", None, "address of an existing Ray cluster (default: start a local one)",
                        flag_values=fv)
    flags.DEFINE_integer("num_cpus", 2, "CPUs of the local Ray instance", flag_values=fv)
    flags.DEFINE_float("cpus_per_run", 1.0, "Ray CPUs reserved per run (and per dense trunk)", flag_values=fv)
    flags.DEFINE_float("gpus_per_run", 0.0, "Ray GPUs reserved per run (and per dense trunk); a fraction, "
                       "e.g. 0.5, lets runs share a GPU", flag_values=fv)
    flags.DEFINE_integer("num_gpus", None, "GPUs of the local Ray instance (default: Ray detects them)",
                         flag_values=fv)
    flags.DEFINE_bool("retry_failed", False, "rerun runs recorded as failed", flag_values=fv)
    flags.DEFINE_bool("plots", True, "write plots/*.png", flag_values=fv)
    flags.DEFINE_bool("report_only", False, "rebuild summary, tables, findings.json, report.md and plots of "
                      "--workdir from its study.json and results.jsonl; trains nothing, takes no --config",
                      flag_values=fv)
    flags.DEFINE_bool("dry_run", False, "validate and list the grid, train nothing", flag_values=fv)
    flags.DEFINE_bool("rehearse", False, "run every stage of the study a few steps on mock data of the real "
                      "shapes and sizes, in this process; write rehearsal.json and the extrapolated compute "
                      "(prunekit.study.rehearse)", flag_values=fv)
    return fv, config


EXIT_BAD_INPUT = 2  # bad input: nothing ran, nothing in the work directory changed
EXIT_RUNS_FAILED = 1  # the study finished, and at least one run is recorded as failed

USAGE = """usage: prunekit-study --config=configs/<study>.py[:variant] --workdir=DIR [--config.<field>=value ...] [flags]

example: prunekit-study --config=configs/quick.py --workdir=runs/quick --config.train.epochs=5

Exit codes: 0 all runs ok; 1 the study finished with failed runs (listed on stderr);
2 bad input (one line saying what and how to fix it).
"""


class HelpRequested(Exception):
    """--help: the usage and the flags were printed."""
RUN_FLAGS = ("executor", "ray_address", "num_cpus", "num_gpus", "cpus_per_run", "gpus_per_run", "retry_failed",
             "dry_run")  # flags --report_only would ignore


def error(message: str) -> int:
    for line in str(message).strip().splitlines() or ["error"]:
        print(f"prunekit-study: error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _one_line(e: Exception) -> str:
    text = str(e).strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":  # a message wrapped in quotes
        text = text[1:-1]
    text = text.replace("\\n", " ").replace("\\'", "'")
    return " ".join(text.split()) or type(e).__name__


RAY_ONLY = ("ray_address", "num_cpus", "num_gpus", "cpus_per_run", "gpus_per_run")


def _check_ray_flags(FLAGS) -> None:
    """Ray's flags are refused without --executor=ray (never silently ignored) and checked with it."""
    given = [name for name in RAY_ONLY if FLAGS[name].present]
    if FLAGS.executor != "ray":
        if given:
            raise ValueError(f"--{given[0]} needs --executor=ray (the in-process executor runs one run at a "
                             f"time on the devices TensorFlow sees); add --executor=ray or drop --{given[0]}")
        return
    from prunekit.study.execute import executors_ray

    executors_ray.check_amounts(FLAGS.cpus_per_run, FLAGS.gpus_per_run)
    local_only = [name for name in ("num_cpus", "num_gpus") if FLAGS[name].present]
    if FLAGS.ray_address and local_only:
        raise ValueError(f"--{local_only[0]} sizes a local Ray instance; with --ray_address the cluster's own "
                         f"resources count: drop --{local_only[0]}")
    if FLAGS.num_gpus is not None and FLAGS.num_gpus < 0:
        raise ValueError(f"--num_gpus={FLAGS.num_gpus} must be >= 0")
    if FLAGS.num_cpus < 1:
        raise ValueError(f"--num_cpus={FLAGS.num_cpus} must be >= 1")


def parse(argv):
    """(config, flags) or raises ValueError with a one-line message (HelpRequested for --help)."""
    try:
        # --flagfile expanded first, so config overrides inside a flagfile are seen too.
        argv = flags.FlagValues().read_flags_from_files(list(argv), force_gnu=False)
    except flags.Error as e:
        raise ValueError(_one_line(e)) from None
    if any(a in ("--help", "-h", "--helpshort", "--helpfull", "-help") for a in argv[1:]):
        print(USAGE + "\nflags:\n" + _define_flags(argv[:1])[0].get_help(), file=sys.stdout)
        raise HelpRequested()
    argv, timing_overrides = _timing_overrides(argv)
    argv, option_overrides = _option_overrides(argv, _check_config_file(argv))
    try:
        FLAGS, _CONFIG = _define_flags(argv)
        FLAGS(argv)
    except flags.Error as e:
        raise ValueError(_one_line(e)) from None
    except (AttributeError, KeyError, TypeError, ValueError) as e:  # a locked config refused an override
        raise ValueError(f"bad config override: {_one_line(e)}") from None
    if not FLAGS.workdir:
        raise ValueError("--workdir is required")
    if FLAGS.rehearse:
        clash = [f"--{n}" for n in ("report_only", "dry_run", "retry_failed", *RUN_FLAGS[:6]) if FLAGS[n].present]
        if clash:
            raise ValueError(f"--rehearse runs the stages once in this process on mock data; drop {', '.join(clash)}")
    if FLAGS.report_only:
        if FLAGS["config"].present or FLAGS["config"].value is not None:
            raise ValueError("--report_only reads the study from --workdir's study.json; drop --config")
        idle = [f"--{n}" for n in RUN_FLAGS if FLAGS[n].present]
        if idle:
            raise ValueError(f"--report_only trains nothing, so {', '.join(idle)} would be ignored; drop it")
        return None, FLAGS
    _check_ray_flags(FLAGS)
    if not FLAGS["config"].present and FLAGS["config"].value is None:
        raise ValueError("--config is required, e.g. --config=configs/quick.py")
    try:
        config = _CONFIG.value
        config.keys()
    except Exception as e:  # missing file, syntax error in the config, ...
        raise ValueError(f"cannot load --config: {_one_line(e)}") from None
    _apply_timing_overrides(config, timing_overrides)
    _apply_option_overrides(config, option_overrides)
    return config, FLAGS


def _config_arg(argv):
    values = [a.split("=", 1)[1] for a in argv[1:] if a.startswith("--config=")]
    return values[-1] if values else None


def _check_config_file(argv) -> None:
    """Loads the --config file once on its own, so that a missing file, a syntax error, a
    get_config that raises or an unknown variant is one line naming the file and the cause."""
    value = _config_arg(argv)
    if not value:
        return None
    path, _, variant = value.partition(":")
    if not os.path.isfile(path):
        raise ValueError(f"cannot load --config: no file {path!r} (e.g. --config=configs/quick.py)")
    try:
        spec = importlib.util.spec_from_file_location("_prunekit_study_config", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise ValueError(f"config file {path}, line {e.lineno}: syntax error: {e.msg}") from None
    except Exception as e:  # the file runs code
        raise ValueError(f"config file {path} raised {type(e).__name__} when loaded: {_one_line(e)}") from None
    if not callable(getattr(module, "get_config", None)):
        raise ValueError(f"config file {path} has no get_config() function")
    variants = getattr(module, "VARIANTS", None)
    if variant and isinstance(variants, dict) and variant not in variants:
        raise ValueError(f"config {path}: unknown variant {variant!r}; variants: {', '.join(variants)} "
                         f"(e.g. --config={path}:{next(iter(variants))})")
    try:
        return module.get_config(variant) if variant else module.get_config()
    except Exception as e:
        raise ValueError(f"config file {path}: get_config({variant!r}) raised {type(e).__name__}: "
                         f"{_one_line(e)}") from None


_TIMING_FIELD = re.compile(r"^--config\.timings\.([^.=]+)\.(at|begin|end|frequency|rewind_to)=(.*)$")


def _timing_overrides(argv):
    """``--config.timings.<label>.<time field>=<value>`` taken out of ``argv``: a time may be
    written in any unit ('5ep', '50%', '200', 0.5) whatever the type of the config's default."""
    rest, found = [], []
    for arg in argv:
        match = _TIMING_FIELD.match(arg)
        if match:
            found.append(match.groups())
        else:
            rest.append(arg)
    return rest, found


def _apply_timing_overrides(config, overrides) -> None:
    import ml_collections

    from prunekit.study.runspec.fields import suggest
    from prunekit.timing import units

    timings = config.get("timings") or {}
    for label, field, raw in overrides:
        if label not in timings:
            raise ValueError(f"--config.timings.{label}.{field}: the config has no timing {label!r}"
                             f"{suggest(label, list(timings))}; timings: {', '.join(timings)}")
        t = units.parse(raw.strip().strip("'\""), f"timings.{label}.{field}")
        value = (t.n if isinstance(t, units.Steps) else t.f if isinstance(t, units.Fraction) else str(t))
        entry = dict(timings[label])
        entry[field] = value
        config.timings[label] = ml_collections.ConfigDict(entry)


_OPTION_FIELD = re.compile(r"^--config\.(criteria|losses)\.([^.=]+)\.([^.=]+)=(.*)$")


def _option_overrides(argv, config):
    """``--config.criteria.<label>.<option>=value`` (and ``losses``) for an option the config's
    entry does not list yet (``magnitude: {}``): taken out of ``argv`` and added after loading,
    so any plugin option can be set from the command line; its value is then checked when the
    plugin is built during validation."""
    if config is None:
        return argv, []
    rest, found = [], []
    for arg in argv:
        match = _OPTION_FIELD.match(arg)
        section = match and (config.get(match.group(1)) or {})
        if match and match.group(2) not in section:
            raise ValueError(f"{arg.split('=', 1)[0]}: the config has no {match.group(1)} entry "
                             f"{match.group(2)!r}; entries: {', '.join(section) or 'none'}")
        if match and match.group(3) not in (section[match.group(2)] or {}):
            found.append(match.groups())
        else:
            rest.append(arg)
    return rest, found


def _apply_option_overrides(config, overrides) -> None:
    import ast

    import ml_collections

    for section, label, option, raw in overrides:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw  # a plain word, e.g. temperature=hot: the plugin judges it
        entry = dict(config[section][label] or {})
        entry[option] = value
        config[section][label] = ml_collections.ConfigDict(entry)


def workdir_problem(workdir: str):
    """Why ``workdir`` cannot be the work directory (a file, not writable), or None."""
    path = os.path.abspath(workdir)
    if os.path.exists(path) and not os.path.isdir(path):
        return f"--workdir {workdir} exists and is not a directory; pass a directory (created when missing)"
    probe = path
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        return f"--workdir {workdir}: {probe} is a file, so the directory cannot be made there"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"--workdir {workdir}: {probe} is not writable; choose a directory you can write"
    return None


__all__ = ["parse", "error", "workdir_problem", "HelpRequested", "EXIT_BAD_INPUT", "EXIT_RUNS_FAILED", "USAGE"]
