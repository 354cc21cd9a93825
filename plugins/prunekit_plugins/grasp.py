"""GraSP, gradient signal preservation (Wang et al. 2020, "Picking winning tickets before
training by preserving gradient flow", eq. 8-9):

    S(-theta) = -theta * (H g)      (the paper's score; it prunes the largest S)
    s = -S = theta * (H g)          (prunekit's score: higher means keep)

S(-theta) is the first-order change of the gradient norm g^T g when a weight is removed: a
large S means removing it reduces gradient flow least (or raises it), so the paper removes the
top-S weights and keeps the lowest; the authors' code keeps ``-theta * Hg <= threshold``.
H and g are those of the softmax cross-entropy of logits / ``temperature`` (the authors' code
uses T = 200), on the data's first examples in inference mode, by double backpropagation
(:mod:`prunekit.init_statistics`). Meant for pruning at initialisation with global scope.
"""
from prunekit.criteria import Criterion


class GraSP(Criterion):
    requires = frozenset({"hessian_gradient"})

    def __init__(self, *, temperature: float = 200.0, **base):
        super().__init__(**base)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        self.temperature = float(temperature)

    def scores(self, weights, statistics=None, masks=None):
        statistics = dict(statistics or {})
        hg = statistics.get("hessian_gradient")
        if callable(hg):  # the statistic depends on the temperature: evaluate it here
            statistics["hessian_gradient"] = hg(temperature=self.temperature, masks=masks)
        return super().scores(weights, statistics, masks)

    def score(self, weight, *, hessian_gradient, **_):
        return weight * hessian_gradient
