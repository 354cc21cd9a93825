"""A layer's output tensor inside one particular tf_keras Functional model.

A layer used by several models (a model and its wrapped or stripped copy share layers) has
one inbound node per model; ``layer.output`` is the first one's and gives a "Graph
disconnected" error in any other model. :func:`output_in` picks the node of ``model``.
"""
from __future__ import annotations


def output_in(model, layer):
    """The output tensor of ``layer`` (object or name) in ``model``'s own graph."""
    if isinstance(layer, str):
        layer = model.get_layer(layer)
    nodes = getattr(model, "_network_nodes", None)
    if nodes:
        for index in reversed(range(len(layer._inbound_nodes))):
            if f"{layer.name}_ib-{index}" in nodes:
                return layer.get_output_at(index)
    return layer.output
