"""The latent space: penultimate features, their t-SNE, and two numbers beside the picture.

- silhouette of real vs fake (scikit-learn, Euclidean, in feature space, not in the t-SNE plane):
  higher = the classes are better separated;
- domain k-NN accuracy: k-nearest-neighbour prediction of a fake frame's manipulation (its env)
  from its features, 5-fold cross-validated; lower = more domain-invariant features. Real frames
  are left out of it because FF++/SynthFF share the same real videos across environments.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["penultimate_features", "tsne_embedding", "latent_scores"]


def _head(network: nn.Module) -> nn.Linear:
    linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(network).__name__} has no Linear head to take features before")
    return linears[-1]


@torch.no_grad()
def penultimate_features(network: nn.Module, images: Tensor, batch_size: int = 256) -> np.ndarray:
    """The input of the network's last ``nn.Linear`` (its classifier), ``float32 [N, D]``."""
    network.eval()
    captured: list[Tensor] = []
    hook = _head(network).register_forward_hook(
        lambda _m, inputs, _out: captured.append(inputs[0].detach().flatten(1).cpu())
    )
    try:
        for start in range(0, len(images), batch_size):
            network(images[start : start + batch_size])
    finally:
        hook.remove()
    return torch.cat(captured).numpy().astype(np.float32)


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE (scikit-learn, PCA initialisation) of ``features``; deterministic for ``seed``."""
    from sklearn.manifold import TSNE

    perplexity = min(perplexity, max(2.0, (len(features) - 1) / 3.0))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(features).astype(np.float32)


def latent_scores(
    features: np.ndarray,
    labels: Sequence[int],
    domains: Sequence[int],
    k: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """``silhouette_real_fake`` and ``domain_knn_acc`` (with ``domain_chance``, 1 / #domains).

    Args:
        features: ``[N, D]``.
        labels: 0 real / 1 fake per row.
        domains: env index per row (used for the fake rows only).
    """
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    y, d = np.asarray(labels), np.asarray(domains)
    out = {"silhouette_real_fake": float("nan"), "domain_knn_acc": float("nan")}
    if len(set(y.tolist())) == 2:
        out["silhouette_real_fake"] = float(silhouette_score(features, y))
    fake = y == 1
    counts = np.bincount(d[fake]) if fake.any() else np.array([])
    present = counts[counts > 0]
    out["domain_chance"] = 1.0 / len(present) if len(present) else float("nan")
    if len(present) >= 2:
        folds = int(min(5, present.min()))
        if folds >= 2:
            cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
            knn = KNeighborsClassifier(n_neighbors=min(k, int(fake.sum()) - 1))
            out["domain_knn_acc"] = float(
                cross_val_score(knn, features[fake], d[fake], cv=cv).mean()
            )
    return out
