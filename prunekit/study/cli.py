"""The ``prunekit-study`` command line: its flags, parsing and one-line errors.

Config fields are overridden as ``--config.field=value`` (locked: a misspelled field fails
with a suggestion); ``--flagfile`` works as in any absl program.
"""
from __future__ import annotations

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
    flags.DEFINE_float("cpus_per_run", 1.0, "Ray CPUs reserved per run", flag_values=fv)
    flags.DEFINE_bool("retry_failed", False, "rerun runs recorded as failed", flag_values=fv)
    flags.DEFINE_bool("plots", True, "write plots/*.png", flag_values=fv)
    flags.DEFINE_bool("report_only", False, "rebuild summary, tables, findings.json, report.md and plots of "
                      "--workdir from its study.json and results.jsonl; trains nothing, takes no --config",
                      flag_values=fv)
    flags.DEFINE_bool("dry_run", False, "validate and list the grid, train nothing", flag_values=fv)
    return fv, config


EXIT_BAD_INPUT = 2
RUN_FLAGS = ("executor", "ray_address", "num_cpus", "cpus_per_run", "retry_failed", "dry_run")  # not --report_only


def error(message: str) -> int:
    for line in str(message).strip().splitlines() or ["error"]:
        print(f"prunekit-study: error: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _one_line(e: Exception) -> str:
    text = str(e).strip().strip("'\"").replace("\\n", " ").replace("\\'", "'")
    return " ".join(text.split()) or type(e).__name__


def parse(argv):
    """(config, flags) or raises ValueError with a one-line message."""
    try:
        # --flagfile expanded first, so config overrides inside a flagfile are seen too.
        argv = flags.FlagValues().read_flags_from_files(list(argv), force_gnu=False)
        FLAGS, _CONFIG = _define_flags(argv)
        FLAGS(argv)
    except flags.Error as e:
        raise ValueError(_one_line(e)) from None
    except (AttributeError, KeyError, TypeError, ValueError) as e:  # a locked config refused an override
        raise ValueError(f"bad config override: {_one_line(e)}") from None
    if not FLAGS.workdir:
        raise ValueError("--workdir is required")
    if FLAGS.report_only:
        if FLAGS["config"].present or FLAGS["config"].value is not None:
            raise ValueError("--report_only reads the study from --workdir's study.json; drop --config")
        idle = [f"--{n}" for n in RUN_FLAGS if FLAGS[n].present]
        if idle:
            raise ValueError(f"--report_only trains nothing, so {', '.join(idle)} would be ignored; drop it")
        return None, FLAGS
    if not FLAGS["config"].present and FLAGS["config"].value is None:
        raise ValueError("--config is required, e.g. --config=configs/quick.py")
    try:
        config = _CONFIG.value
        config.keys()
    except Exception as e:  # missing file, syntax error in the config, ...
        raise ValueError(f"cannot load --config: {_one_line(e)}") from None
    return config, FLAGS


__all__ = ["parse", "error", "EXIT_BAD_INPUT"]
