"""Small learned models in plain numpy: multinomial logistic regression with L2, saved as JSON.

Both learned parts of the tracker use it: the link scorer (a dozen features per document and
recommendation, two classes) and the sentence readers (384-d embeddings, four to six labels). A model
this size trains in well under a second, needs no extra dependency, and its weights can be read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LogisticModel:
    labels: list[str]
    weights: np.ndarray  # (labels, features)
    bias: np.ndarray  # (labels,)
    mean: np.ndarray  # feature standardisation learned with the weights
    scale: np.ndarray

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(rows, labels) probabilities for a (rows, features) matrix."""
        z = ((np.atleast_2d(features) - self.mean) / self.scale) @ self.weights.T + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def as_dict(self) -> dict:
        return {
            "labels": self.labels,
            "weights": np.round(self.weights, 5).tolist(),
            "bias": np.round(self.bias, 5).tolist(),
            "mean": [float(f"{value:.7g}") for value in self.mean],
            "scale": [float(f"{value:.7g}") for value in self.scale],
        }

    @classmethod
    def from_dict(cls, spec: dict) -> LogisticModel:
        return cls(
            list(spec["labels"]),
            np.asarray(spec["weights"], dtype=np.float64),
            np.asarray(spec["bias"], dtype=np.float64),
            np.asarray(spec["mean"], dtype=np.float64),
            np.asarray(spec["scale"], dtype=np.float64),
        )


def fit_logistic(
    features: np.ndarray,
    labels: list[str],
    l2: float = 1.0,
    sample_weight: np.ndarray | None = None,
) -> LogisticModel:
    """Fit by L-BFGS on standardised features (deterministic: the same data gives the same weights).
    Classes are weighted to balance, so a rare label counts as much as a common one."""
    from scipy.optimize import minimize

    x = np.asarray(features, dtype=np.float64)
    classes = sorted(set(labels))
    y = np.zeros((len(labels), len(classes)))
    y[np.arange(len(labels)), [classes.index(label) for label in labels]] = 1.0
    mean, spread = x.mean(axis=0), x.std(axis=0)
    scale = np.where(spread > 1e-4, spread, 1.0)  # a (nearly) constant feature stays as it is
    xs = (x - mean) / scale
    weight = y @ (len(labels) / (len(classes) * y.sum(axis=0)))
    if sample_weight is not None:
        weight = weight * np.asarray(sample_weight, dtype=np.float64)
    weight /= weight.sum()
    shape = (len(classes), x.shape[1] + 1)
    xb = np.hstack([xs, np.ones((len(xs), 1))])
    penalty = l2 / len(labels)

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = flat.reshape(shape)
        z = xb @ w.T
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -(weight * (y * log_p).sum(axis=1)).sum() + 0.5 * penalty * np.square(w[:, :-1]).sum()
        gradient = ((np.exp(log_p) - y) * weight[:, None]).T @ xb
        gradient[:, :-1] += penalty * w[:, :-1]
        return float(value), gradient.ravel()

    result = minimize(loss, np.zeros(shape).ravel(), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    fitted = result.x.reshape(shape)
    return LogisticModel(classes, fitted[:, :-1], fitted[:, -1], mean, scale)
