"""Analysis of finished runs: is the minimum flatter, are the domains aligned, where does the
detector look, how domain-invariant are its features -- measured, with figures.

    python -m roga_bench.analyze --input_dir results/sweep --out results/synthff/analysis

From Python::

    from roga_bench.analysis import analyze_sweep
    report = analyze_sweep("results/sweep", "results/synthff/analysis")

The building blocks work on any functional loss or network: ``worst_case_sharpness``,
``hessian_top_eigenvalue``, ``hutchinson_trace`` / ``hutchinson_probes``,
``filter_normalized_direction``, ``landscape_1d/2d``, ``gradient_alignment``, ``compute_cams``,
``localization_scores``, ``penultimate_features``, ``tsne_embedding``, ``latent_scores``; the
evaluation batches come from ``draw_batches`` (balanced real/fake, spread over videos) and are
described by ``describe``.
"""

from roga_bench.analysis._alignment import cosine, gradient_alignment, network_loss, network_params
from roga_bench.analysis._cam import (
    CAM_METHODS,
    compute_cams,
    last_conv_layer,
    last_spatial_layer,
    localization_scores,
)
from roga_bench.analysis._config import AnalysisConfig
from roga_bench.analysis._flatness import (
    asam_scale,
    filter_normalized_direction,
    hessian_top_eigenvalue,
    hutchinson_probes,
    hutchinson_trace,
    landscape_1d,
    landscape_2d,
    worst_case_sharpness,
)
from roga_bench.analysis._latent import latent_scores, penultimate_features, tsne_embedding
from roga_bench.analysis._measure import ANALYSES
from roga_bench.analysis._runs import AnalysisError, AnalysisFlagError, RunSpec, selected_runs
from roga_bench.analysis._samples import describe, draw_batches
from roga_bench.analysis._sweep import AnalysisReport, analyze_sweep, parse_analyses

__all__ = [
    "ANALYSES",
    "CAM_METHODS",
    "AnalysisConfig",
    "AnalysisError",
    "AnalysisFlagError",
    "AnalysisReport",
    "RunSpec",
    "analyze_sweep",
    "asam_scale",
    "compute_cams",
    "cosine",
    "describe",
    "draw_batches",
    "filter_normalized_direction",
    "gradient_alignment",
    "hessian_top_eigenvalue",
    "hutchinson_probes",
    "hutchinson_trace",
    "landscape_1d",
    "landscape_2d",
    "last_conv_layer",
    "last_spatial_layer",
    "latent_scores",
    "localization_scores",
    "network_loss",
    "network_params",
    "parse_analyses",
    "penultimate_features",
    "selected_runs",
    "tsne_embedding",
    "worst_case_sharpness",
]
