"""The shared evaluation suite: per-run metrics on a model and population metrics on arrays.

Pure-array API (NumPy in, NumPy out)::

    pies(dense_logits, pruned_logits)            # populations (models, examples, classes)
    q_score(features)                            # (examples,)
    prediction_depth(train_reps, train_labels, test_reps, reference, k=30, true_labels=None)
    psp_entropy(preactivations, labels, num_classes)
    function_preservation(logits_before, logits_after, labels)
    mask_iou(a, b); mean_ci(values, confidence=0.95)
    linear_probe(...); knn_accuracy(..., k=20, metric="cosine")

Model helpers: ``layer_representations``, ``probe_layers``, ``layer_preactivations``,
``model_features``, ``sharpness``, ``sparsity``, ``nonzero_parameters``, ``flops``,
``gzip_size``, ``compression``. Study integration: ``EVALUATORS`` and ``evaluate`` (suite.py).
"""
from prunekit.evaluation.knn import KNNIndex, knn_predict
from prunekit.evaluation.masks import mask_iou
from prunekit.evaluation.pies import PIEResult, compare_pies, modal_labels, pies
from prunekit.evaluation.prediction_depth import (PredictionDepth, depth_from_predictions,
                                                  layer_representations, prediction_depth,
                                                  probe_layers)
from prunekit.evaluation.preservation import function_preservation, loss_and_accuracy
from prunekit.evaluation.probes import knn_accuracy, linear_probe, model_features
from prunekit.evaluation.psp_entropy import (PSPCounter, layer_preactivations, model_psp_entropy,
                                             preactivation_layers, psp_entropy)
from prunekit.evaluation.qscore import q_score
from prunekit.evaluation.sharpness import filter_normalized_direction, mean_loss, sharpness
from prunekit.evaluation.size import (compression, flops, gzip_size, nonzero_parameters,
                                      sparsity)
from prunekit.evaluation.stats import mean_ci
from prunekit.evaluation.suite import EVALUATORS, evaluate, evaluate_all

__all__ = [
    "EVALUATORS", "KNNIndex", "PIEResult", "PSPCounter", "PredictionDepth", "compare_pies",
    "compression", "depth_from_predictions", "evaluate", "evaluate_all",
    "filter_normalized_direction", "flops", "function_preservation", "gzip_size", "knn_accuracy",
    "knn_predict", "layer_preactivations", "layer_representations", "linear_probe",
    "loss_and_accuracy", "mask_iou", "mean_ci", "mean_loss", "modal_labels", "model_features",
    "model_psp_entropy", "nonzero_parameters", "pies", "prediction_depth", "preactivation_layers",
    "probe_layers", "psp_entropy", "q_score", "sharpness", "sparsity",
]
