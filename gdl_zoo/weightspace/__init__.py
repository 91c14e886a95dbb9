"""A network's weight space.

Output-space metrics, functionally invariant paths, hidden-unit permutations.
Names are imported on first access (PEP 562), so ``import gdl_zoo.weightspace``
stays cheap.
"""

from __future__ import annotations

from gdl_zoo._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ParameterLayout": "metric",
    "OutputMetric": "metric",
    "check_inputs_device": "metric",
    "CGResult": "conjugate_gradient",
    "LanczosResult": "conjugate_gradient",
    "conjugate_gradient": "conjugate_gradient",
    "lanczos": "conjugate_gradient",
    "FIPStep": "fip",
    "fip_step": "fip",
    "trust_region_coefficients": "fip",
    "flat_gradient": "fip",
    "bhattacharyya_distance": "fip",
    "Path": "path",
    "traverse": "path",
    "recompute_batch_norm": "path",
    "global_magnitude_mask": "objectives",
    "apply_mask": "objectives",
    "sparsity_of": "objectives",
    "Sparsification": "objectives",
    "TaskLoss": "objectives",
    "TowardNetwork": "objectives",
    "QuadraticBezier": "objectives",
    "train_bezier": "objectives",
    "losses_along": "objectives",
    "loss_barrier": "objectives",
    "HiddenUnitGroup": "permutations",
    "HiddenUnitPermutation": "permutations",
    "permutation_invariance_error": "permutations",
    "mlp": "models",
    "lenet_300_100": "models",
    "MLPProbe": "models",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
