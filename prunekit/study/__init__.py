"""The study driver: ``prunekit-study --config=configs/<study>.py --workdir=DIR``.

Rooms, each a subpackage with one job; imports run down this list, never up:

- :mod:`~prunekit.study.main`, :mod:`~prunekit.study.cli`, :mod:`~prunekit.study.progress`:
  the driver (flags, the invocation's stages, the progress line)
- :mod:`~prunekit.study.report`:   report.md, the findings checks per paper, plots
- :mod:`~prunekit.study.analysis`: summary over seeds, population metrics (PIEs, overlaps)
- :mod:`~prunekit.study.execute`:  one run (load -> build -> train -> evaluate -> save), the
  shared dense trunk, the in-process and Ray executors
- :mod:`~prunekit.study.store`:    run directories and atomic writes, resume, results.jsonl
- :mod:`~prunekit.study.runspec`:     the config vocabulary, the typed run spec, validation,
  grid expansion, run identity
- :mod:`~prunekit.study.pruning` (the one door to the pruning/timing API) and
  :mod:`~prunekit.study.datasets` (the run's arrays): used by the rooms above

Importing this package does not import TensorFlow.
"""
