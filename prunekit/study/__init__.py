"""The study driver: ``prunekit-study --config=configs/<study>.py --workdir=DIR``.

One job per file:

- :mod:`~prunekit.study.grid`      config validation and grid expansion into run specs
- :mod:`~prunekit.study.identity`  a run's identity: a hash of its resolved spec
- :mod:`~prunekit.study.rundir`    the work-directory layout and atomic writes
- :mod:`~prunekit.study.resume`    which runs are finished, which to (re)do
- :mod:`~prunekit.study.executors` in-process and Ray executors
- :mod:`~prunekit.study.progress`  the study-level progress line
- :mod:`~prunekit.study.results`   results.jsonl and summary.csv (mean and CI over seeds)
- :mod:`~prunekit.study.report`    report.md
- :mod:`~prunekit.study.plots`     plots/*.png
- :mod:`~prunekit.study.run`       one run: data -> model -> loss -> wrap -> fit -> evaluation
- :mod:`~prunekit.study.main`      the absl entry point

Importing this package does not import TensorFlow.
"""
