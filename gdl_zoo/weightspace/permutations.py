"""Hidden-unit permutations: the symmetry of a network's weight space.

Hecht-Nielsen (1990), "On the algebraic structure of feedforward network weight
spaces"; as a symmetry of weight spaces, Navon et al. (2023), "Equivariant
architectures for learning in deep weight spaces" (arXiv 2301.12780).  For a
multilayer perceptron ``h_l = σ(W_l h_{l−1} + b_l)`` with elementwise σ,
permuting the ``n_l`` units of hidden layer ``l`` by ``π_l`` and the weights to
match::

    W_l ↦ P_l W_l P_{l−1}ᵀ,   b_l ↦ P_l b_l   (P_0 = P_L = I)

leaves the function unchanged.  The group is ``S_{n_1} × … × S_{n_{L−1}}``;
batch-norm layers after a linear layer carry the same permutation on their
affine parameters and running statistics.  Elements are tuples of LongTensors
with ``(g.W)[i, j] = W[π_l[i], π_{l−1}[j]]``, the convention of
:class:`~gdl_zoo.symmetry.groups.SymmetricGroup`.

Shapes: ``n_l`` units of layer ``l``; ``P`` parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from gdl_zoo.symmetry.actions import Action, Invariant
from gdl_zoo.symmetry.groups import DirectProduct, SymmetricGroup
from gdl_zoo.symmetry.testing import EquivarianceReport, equivariance_error
from gdl_zoo.weightspace.metric import ParameterLayout, check_inputs_device

__all__ = [
    "HiddenUnitGroup",
    "HiddenUnitPermutation",
    "permutation_invariance_error",
    "ELEMENTWISE",
]

#: Modules that act on each unit separately (they commute with unit permutations).
ELEMENTWISE = (
    nn.ReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.GELU,
    nn.ELU,
    nn.LeakyReLU,
    nn.SiLU,
    nn.Softplus,
    nn.Identity,
    nn.Dropout,
)


class HiddenUnitGroup(DirectProduct):
    """The product ``S_{n_1} × … × S_{n_{L−1}}``, elements tuples of permutations.

    Args:
        widths: ``(n_1, …, n_{L−1})``, the hidden-layer widths.
    """

    def __init__(self, widths: Sequence[int]):
        widths = tuple(widths)
        if not widths or any(not isinstance(n, int) or n < 1 for n in widths):
            raise ValueError(f"widths: expected positive integers, got {widths!r}")
        self.widths = widths
        super().__init__(*(SymmetricGroup(n) for n in widths),
                         name=" × ".join(f"S{n}" for n in widths))  # fmt: skip


def _roles(model: nn.Module) -> tuple[dict[str, tuple[int | None, int | None]], list[int]]:
    """Per tensor name, ``(layer permuting axis 0, layer permuting axis 1)``; hidden widths."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            "HiddenUnitPermutation: expected an nn.Sequential of Linear, BatchNorm1d, Flatten "
            f"and elementwise layers, got {type(model).__name__}"
        )
    linear = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)]
    if len(linear) < 2:
        raise ValueError(
            f"HiddenUnitPermutation: expected at least two Linear layers, got {len(linear)}"
        )
    roles: dict[str, tuple[int | None, int | None]] = {}
    widths: list[int] = []
    layer = -1  # the hidden layer the current activations belong to (−1: the input)
    for i, module in enumerate(model):
        if isinstance(module, nn.Linear):
            last = i == linear[-1]
            out_role = None if last else layer + 1
            in_role = None if layer < 0 else layer
            roles[f"{i}.weight"] = (out_role, in_role)
            if module.bias is not None:
                roles[f"{i}.bias"] = (out_role, None)
            if not last:
                widths.append(module.out_features)
            layer = None if last else layer + 1
        elif isinstance(module, nn.BatchNorm1d) and layer is not None and layer >= 0:
            for name in ("weight", "bias", "running_mean", "running_var"):
                if getattr(module, name, None) is not None:
                    roles[f"{i}.{name}"] = (layer, None)
        elif isinstance(module, nn.Flatten) and i < linear[0]:
            continue
        elif not isinstance(module, ELEMENTWISE):
            raise TypeError(
                f"HiddenUnitPermutation: layer {i} ({type(module).__name__}) does not commute "
                "with hidden-unit permutations (expected Linear, BatchNorm1d after a Linear, "
                "a leading Flatten, or an elementwise layer)"
            )
    return roles, widths


class HiddenUnitPermutation(Action):
    """``S_{n_1} × … × S_{n_{L−1}}`` permuting the hidden units of an MLP's weights.

    Hecht-Nielsen (1990); Navon et al. (arXiv 2301.12780)::

        (g.θ):  W_l ↦ W_l[π_l][:, π_{l−1}],   b_l ↦ b_l[π_l]

    :meth:`act` acts on a tuple of tensors ordered like :attr:`names` (the
    trainable parameters in ``named_parameters()`` order, then, with
    ``include_buffers``, the batch-norm running statistics), repeated
    ``copies`` times (e.g. a base point and a tangent vector).

    Args:
        model: an ``nn.Sequential`` of ``Linear``, ``BatchNorm1d`` (after a
            ``Linear``), a leading ``Flatten`` and elementwise layers; only its
            structure is read.
        include_buffers: also act on the batch-norm running statistics.
        copies: how many consecutive blocks of :attr:`names` a tuple input holds.

    Shapes:
        inputs: ``copies × len(names)`` tensors shaped like the named tensors.
    """

    def __init__(self, model: nn.Module, *, include_buffers: bool = False, copies: int = 1):
        roles, widths = _roles(model)
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
            raise ValueError(f"copies: expected a positive integer, got {copies!r}")
        self.group = HiddenUnitGroup(widths)
        self.roles = roles
        self.matrices = frozenset(
            f"{i}.weight" for i, m in enumerate(model) if isinstance(m, nn.Linear)
        )
        self.layout = ParameterLayout.of(model)
        names = list(self.layout.names)
        if include_buffers:
            names += [n for n, _ in model.named_buffers() if n in roles]
        self.names = tuple(names)
        self.copies = copies

    def _permute(self, g, name: str, tensor: torch.Tensor) -> torch.Tensor:
        # weights (…, n_l, n_{l−1}) and vectors (…, n_l): leading axes are a batch of networks
        out_role, in_role = self.roles.get(name, (None, None))
        out_axis = -2 if name.endswith(".weight") and name in self.matrices else -1
        if out_role is not None:
            tensor = tensor.index_select(out_axis, g[out_role].to(tensor.device))
        if in_role is not None:
            tensor = tensor.index_select(-1, g[in_role].to(tensor.device))
        return tensor

    def act(self, g, inputs) -> tuple[torch.Tensor, ...]:
        if isinstance(inputs, torch.Tensor):
            inputs = (inputs,)
        expected = self.copies * len(self.names)
        if not isinstance(inputs, (tuple, list)) or len(inputs) != expected:
            got = len(inputs) if isinstance(inputs, (tuple, list)) else type(inputs).__name__
            raise ValueError(f"expected a tuple of {expected} weight tensors, got {got}")
        names = self.names * self.copies
        return tuple(self._permute(g, n, t) for n, t in zip(names, inputs))

    def act_on_dict(self, g, tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``g.θ`` for a name → tensor mapping (a state dict); unknown names pass through."""
        return {n: self._permute(g, n, t) for n, t in tensors.items()}

    def act_on_vector(self, g, vector: torch.Tensor) -> torch.Tensor:
        """``g.v`` for a flat (P,) weight-space vector (a base point or a tangent vector)."""
        return self.layout.flatten(self.act_on_dict(g, self.layout.unflatten(vector)))

    def act_on_model(self, g, model: nn.Module) -> nn.Module:
        """A deep copy of ``model`` with permuted parameters and batch-norm statistics."""
        permuted = copy.deepcopy(model)
        state = self.act_on_dict(g, model.state_dict())
        permuted.load_state_dict(state)
        return permuted

    def __repr__(self) -> str:
        return f"HiddenUnitPermutation(group={self.group!r}, copies={self.copies})"


def permutation_invariance_error(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    n_random: int = 4,
    generator: torch.Generator | int | None = 0,
    tolerance: float | None = None,
) -> EquivarianceReport:
    """Measure ``f(x; g.θ) = f(x; θ)`` over hidden-unit permutations with the shared harness.

    The checked map is ``θ ↦ f(x; θ)`` (eval mode, batch-norm statistics
    permuted with their units), with :class:`HiddenUnitPermutation` acting on
    θ and :class:`~gdl_zoo.symmetry.actions.Invariant` on the outputs.

    Args:
        model: an MLP accepted by :class:`HiddenUnitPermutation`.
        inputs: a batch ``(B, …)`` on the model's device.
        n_random: random elements besides the generators.
        generator: seed or generator for the random elements.
        tolerance: relative tolerance (default: by dtype).

    Returns:
        The harness's :class:`~gdl_zoo.symmetry.testing.EquivarianceReport`.
    """
    action = HiddenUnitPermutation(model, include_buffers=True)
    check_inputs_device(model, inputs)
    state = dict(model.state_dict())
    tensors = tuple(state[n].detach() for n in action.names)
    others = {n: t for n, t in state.items() if n not in action.names}

    def network(*weights: torch.Tensor) -> torch.Tensor:
        named = {**others, **dict(zip(action.names, weights))}
        return torch.func.functional_call(model, named, (inputs,))

    was_training = model.training
    model.eval()  # batch statistics and dropout are not symmetries of the weights
    try:
        return equivariance_error(
            network,
            tensors,
            action,
            Invariant(),
            n_random=n_random,
            generator=generator,
            tolerance=tolerance,
        )
    finally:
        model.train(was_training)
