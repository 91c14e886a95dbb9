"""The model card of a toy pointwise model on 6×6 images, for tests of the compile checks.

Importing this module registers nothing; the plugin and the tests register or
use the cards they build.
"""

import torch

from gdl_zoo import zoo
from gdl_zoo.grids.actions import CyclicShift


def toy_card(name: str, factory) -> zoo.ModelCard:
    """A card for ``factory()``, a pointwise map of ``(B, 1, 6, 6)`` images (cyclic shifts)."""
    return zoo.ModelCard(
        name=name,
        domain="grids",
        group="cyclic shifts Z^2 (pointwise map)",
        flavour="toy",
        paper="a deliberate mistake",
        factory=factory,
        example_factory=lambda b, dtype, gen: (
            torch.randn(b, 1, 6, 6, dtype=dtype, generator=gen),
        ),
        input_action=CyclicShift(),
        output_action=CyclicShift(),
    )
