"""A layer's input or output tensor inside one particular tf_keras Functional model.

A layer used by several models (a model and its wrapped or stripped copy share layers) has
one inbound node per model; ``layer.input`` / ``layer.output`` are the first one's and give a
"Graph disconnected" error in any other model. :func:`input_in` and :func:`output_in` pick
the node of ``model``.
"""
from __future__ import annotations


def _node_index(model, layer):
    """Index of ``layer``'s (last) inbound node that belongs to ``model``, or None."""
    nodes = getattr(model, "_network_nodes", None)
    if nodes:
        for index in reversed(range(len(layer._inbound_nodes))):
            if f"{layer.name}_ib-{index}" in nodes:
                return index
    return None


def output_in(model, layer):
    """The output tensor of ``layer`` (object or name) in ``model``'s own graph."""
    if isinstance(layer, str):
        layer = model.get_layer(layer)
    index = _node_index(model, layer)
    return layer.output if index is None else layer.get_output_at(index)


def input_in(model, layer):
    """The input tensor(s) of ``layer`` (object or name) in ``model``'s own graph."""
    if isinstance(layer, str):
        layer = model.get_layer(layer)
    index = _node_index(model, layer)
    return layer.input if index is None else layer.get_input_at(index)
