"""A small, honest training task for any model card: regress a frozen teacher of the same card.

Student–teacher distillation (Hinton, Vinyals & Dean, "Distilling the
knowledge in a neural network", arXiv 1503.02531, with the squared error on
the outputs): the teacher is the card's default model built from another
seed and frozen, the data are ``S`` inputs drawn by the card's
``example_factory`` one sample at a time, and the loss of a student ``f`` on
sample ``i`` is::

    ℓ_i(f) = Σ_o mean((f(x_i)_o − t(x_i)_o)²)

over the output tensors ``o`` of the model (one, or several for models that
return a tuple, e.g. features and positions).  The teacher lies in the
student's own architecture, so the loss can reach zero, and its symmetry is
the card's: the targets transform like the student's outputs.

Every sample is its own forward call.  A card's inputs are batched in the way
its domain batches (stacked images, a disjoint union of graphs, one shared
mesh), so a sample is the one thing all cards agree on; it also makes
batch-norm statistics per sample, so the loss does not depend on how a
batch is split between data-parallel ranks.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.zoo import ModelCard

__all__ = ["TeacherTask", "build_seeded", "output_tensors"]


def build_seeded(card: ModelCard, seed: int) -> nn.Module:
    """``card.build()`` with the weights ``seed`` draws; torch's global RNG is left alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return card.build()


def output_tensors(outputs: object) -> list[torch.Tensor]:
    """The floating tensors of a model's output, a tensor or a (nested) tuple/list of them.

    Raises:
        TypeError: the output holds no floating tensor.
    """
    found: list[torch.Tensor] = []

    def collect(value: object) -> None:
        if isinstance(value, torch.Tensor):
            if value.is_floating_point():
                found.append(value)
        elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
            for item in value:
                collect(item)

    collect(outputs)
    if not found:
        raise TypeError(
            "model output: expected a floating tensor or a tuple of them, "
            f"got {type(outputs).__name__}"
        )
    return found


class TeacherTask:
    """Distil a frozen teacher of ``card`` into a student of the same card, sample by sample.

    Args:
        card: the model card (its ``example_factory`` draws the inputs).
        num_samples: ``S``, the size of the data set.
        seed: seeds the inputs (``seed``) and the teacher's weights (``seed + 1``);
            a student built with :func:`build_seeded` from ``seed`` starts elsewhere.
        dtype: the floating dtype of inputs and teacher.
        device: where inputs and targets live.

    Attributes:
        samples: ``S`` input tuples, each a batch of one.
        targets: the teacher's outputs on them, a list of tensors per sample.
    """

    def __init__(
        self,
        card: ModelCard,
        *,
        num_samples: int,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        if not isinstance(card, ModelCard):
            raise TypeError(f"card: expected a ModelCard, got {type(card).__name__}")
        num_samples = check_positive_int(num_samples, "num_samples")
        self.card = card
        generator = torch.Generator().manual_seed(seed)
        self.samples = [
            tuple(
                x.to(device) if isinstance(x, torch.Tensor) else x
                for x in card.example_inputs(1, dtype, generator)
            )
            for _ in range(num_samples)
        ]
        teacher = build_seeded(card, seed + 1).to(device=device, dtype=dtype).eval()
        with torch.no_grad():
            self.targets = [[t.detach() for t in output_tensors(teacher(*x))] for x in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def loss(self, model: nn.Module, index: int) -> torch.Tensor:
        """``ℓ_i``, the squared error of ``model`` against the teacher on sample ``index``.

        Raises:
            ValueError: the model's outputs do not match the teacher's in number or shape.
        """
        outputs = output_tensors(model(*self.samples[index]))
        targets = self.targets[index]
        if [o.shape for o in outputs] != [t.shape for t in targets]:
            raise ValueError(
                f"model outputs: expected shapes {[tuple(t.shape) for t in targets]} "
                f"(the teacher's), got {[tuple(o.shape) for o in outputs]}"
            )
        return sum(torch.mean((o - t) ** 2) for o, t in zip(outputs, targets))
