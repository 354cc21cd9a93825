"""The model.fit integration: carries out :mod:`prunekit.timing` plans on tf_keras models.

- :mod:`~prunekit.pruning.wrapping`: ``wrap`` / ``strip`` (on copies), ``NeverPrune``.
- :mod:`~prunekit.pruning.masked_step`: the compiled step that keeps pruned weights and
  their optimizer slots zero; ``apply_masks``; ``optimizer_slots``.
- :mod:`~prunekit.pruning.callback`: ``PruningCallback``, the one pruning callback (local
  steps, IMP rewinding, records, mask files).
- :mod:`~prunekit.pruning.records`: per-event records (function preservation, KL, sparsity).
- :mod:`~prunekit.pruning.mask_io`: masks to and from models and ``.npz`` files.
- :mod:`~prunekit.pruning.imp`: IMP as one ``fit`` per round; reusing a mask.

Imports run one way: this package uses :mod:`prunekit.timing`, never the reverse.
"""
from prunekit.pruning.callback import PruningCallback  # noqa: F401
from prunekit.pruning.masked_step import optimizer_slots  # noqa: F401
from prunekit.pruning.wrapping import NeverPrune, strip, wrap  # noqa: F401

__all__ = ["PruningCallback", "wrap", "strip", "NeverPrune", "optimizer_slots"]
