"""A plugin module that registers a deliberately broken model (zero padding, claimed invariant)."""

import torch
from torch import nn

from gdl_zoo import zoo
from gdl_zoo.grids.actions import CyclicShift
from gdl_zoo.symmetry import Invariant


class ZeroPaddedPool(nn.Module):
    """Zero-padded convolution and global mean: not shift-invariant at the border."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x).mean(dim=(-2, -1))


def _inputs(batch_size, dtype, generator):
    return (torch.randn(batch_size, 1, 8, 8, generator=generator, dtype=dtype),)


zoo.register(
    zoo.ModelCard(
        name="broken_zero_padded",
        domain="grids",
        group="cyclic shifts (claimed)",
        flavour="CNN",
        paper="a deliberate mistake",
        factory=ZeroPaddedPool,
        example_factory=_inputs,
        input_action=CyclicShift(),
        output_action=Invariant(),
    ),
    replace=True,
)
