"""Small networks shared by the weightspace tests."""

import pytest
import torch

from gdl_zoo.weightspace.models import mlp


@pytest.fixture
def tiny():
    """A float64 3-5-4-3 tanh MLP and a batch of 4 inputs."""
    torch.manual_seed(0)
    model = mlp((3, 5, 4, 3), activation="tanh").double()
    inputs = torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    return model, inputs
