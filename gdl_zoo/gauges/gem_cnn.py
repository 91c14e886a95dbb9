"""GEM-CNN and the gauge Transformer: stacks of gauge-equivariant layers on a mesh.

de Haan, Weiler, Cohen & Welling, ICLR 2021::

    h⁰ = f,   hˡ = σ(Layerˡ(hˡ⁻¹, θ, g)),  l = 1 … L−1,   out = Layerᴸ(hᴸ⁻¹, θ, g)

with ``Layer`` a :class:`~gdl_zoo.gauges.gem_conv.GEMConv` (:class:`GEMCNN`)
or a :class:`~gdl_zoo.gauges.gauge_attention.GaugeAttention`
(:class:`GaugeTransformer`), hidden features ``copies × (ρ_0 ⊕ … ⊕ ρ_N)`` and
σ the :class:`~gdl_zoo.gauges.nonlinearities.RegularNonlinearity` (``S``
samples; approximately equivariant, error shrinking with ``S``) or the exact
:class:`~gdl_zoo.gauges.nonlinearities.NormNonlinearity`.  ``irreps_out``
chooses the output: ``SO2Irreps((C,))`` for gauge-invariant vertex scalars,
``SO2Irreps((0, 1))`` for a tangent vector field.

Shapes:
    N: vertices.  E: directed edges.  C_in, C_out: irreps dimensions.
"""

from __future__ import annotations

from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.gauges.gauge_attention import GaugeAttention
from gdl_zoo.gauges.gem_conv import GEMConv
from gdl_zoo.gauges.nonlinearities import NormNonlinearity, RegularNonlinearity
from gdl_zoo.gauges.so2_irreps import SO2Irreps

__all__ = ["GEMCNN", "GaugeTransformer"]

_NONLINEARITIES = ("regular", "norm")


class _GaugeStack(nn.Module):
    """Layers ``irreps_in → hidden → … → irreps_out`` with a nonlinearity between them."""

    def __init__(
        self,
        layer: type[nn.Module],
        irreps_in: SO2Irreps,
        irreps_out: SO2Irreps,
        hidden: SO2Irreps,
        num_layers: int,
        nonlinearity: str,
        samples: int,
        **layer_options,
    ):
        super().__init__()
        check_positive_int(num_layers, "num_layers")
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(
                f"nonlinearity: expected one of {_NONLINEARITIES}, got {nonlinearity!r}"
            )
        self.irreps_in, self.irreps_out, self.hidden = irreps_in, irreps_out, hidden
        widths = [irreps_in] + [hidden] * (num_layers - 1) + [irreps_out]
        self.layers = nn.ModuleList(
            layer(a, b, **layer_options) for a, b in zip(widths[:-1], widths[1:])
        )
        make = (
            (lambda: RegularNonlinearity(hidden, samples))
            if nonlinearity == "regular"
            else (lambda: NormNonlinearity(hidden))
        )
        self.nonlinearities = nn.ModuleList(make() for _ in range(num_layers - 1))

    def forward(self, features, edge_index, log_angle, transport):
        h = features
        for k, layer in enumerate(self.layers):
            h = layer(h, edge_index, log_angle, transport)
            if k < len(self.nonlinearities):
                h = self.nonlinearities[k](h)
        return h


class GEMCNN(_GaugeStack):
    """A gauge-equivariant mesh CNN: GEM convolutions and regular (or norm) nonlinearities.

    de Haan et al., ICLR 2021.

    Args:
        irreps_in: :class:`SO2Irreps` of the input vertex features.
        irreps_out: :class:`SO2Irreps` of the outputs (scalars for invariant targets).
        hidden: hidden irreps ``copies × (ρ_0 ⊕ … ⊕ ρ_N)`` (default ``8 × (ρ_0 ⊕ ρ_1 ⊕ ρ_2)``).
        num_layers: ``L`` GEM convolutions.
        nonlinearity: ``"regular"`` (S samples) or ``"norm"`` (exact).
        samples: ``S`` of the regular nonlinearity.

    Shapes:
        features: ``(N, C_in)``; edge_index: ``(2, E)``; log_angle, transport: ``(E,)``.
        output: ``(N, C_out)``.
    """

    def __init__(
        self,
        irreps_in: SO2Irreps,
        irreps_out: SO2Irreps,
        hidden: SO2Irreps | None = None,
        num_layers: int = 3,
        nonlinearity: str = "regular",
        samples: int = 15,
    ):
        hidden = SO2Irreps.regular(8, 2) if hidden is None else hidden
        super().__init__(GEMConv, irreps_in, irreps_out, hidden, num_layers, nonlinearity, samples)


class GaugeTransformer(_GaugeStack):
    """A Transformer of gauge-equivariant attention layers on the 1-rings of a mesh.

    Attention weights from edge-frame (gauge-invariant) vectors, values transported
    GEM messages (see :class:`~gdl_zoo.gauges.gauge_attention.GaugeAttention`).

    Args:
        irreps_in, irreps_out, hidden, num_layers, nonlinearity, samples: as in :class:`GEMCNN`.
        num_heads: attention heads per layer.
        key_dim: query/key width per head.

    Shapes:
        features: ``(N, C_in)``; edge_index: ``(2, E)``; log_angle, transport: ``(E,)``.
        output: ``(N, C_out)``.
    """

    def __init__(
        self,
        irreps_in: SO2Irreps,
        irreps_out: SO2Irreps,
        hidden: SO2Irreps | None = None,
        num_layers: int = 3,
        nonlinearity: str = "regular",
        samples: int = 15,
        num_heads: int = 2,
        key_dim: int = 8,
    ):
        hidden = SO2Irreps.regular(8, 2) if hidden is None else hidden
        super().__init__(
            GaugeAttention,
            irreps_in,
            irreps_out,
            hidden,
            num_layers,
            nonlinearity,
            samples,
            num_heads=num_heads,
            key_dim=key_dim,
        )
