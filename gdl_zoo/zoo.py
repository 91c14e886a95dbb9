"""The registry of model cards: what each architecture is, and how to prove its symmetry.

A :class:`ModelCard` names a model, its domain, its symmetry group and flavour,
its paper, a factory for a small default instance, a factory of example inputs,
and the input and output actions.  Domains register their cards when their
``models`` module is imported; :func:`list_models` and :func:`get` import the
domain modules on first use, so ``import gdl_zoo`` stays cheap.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from gdl_zoo.symmetry.actions import Action
from gdl_zoo.symmetry.testing import EquivarianceReport, default_tolerance, equivariance_error

__all__ = ["ModelCard", "register", "unregister", "get", "list_models", "close_matches"]

#: The modules whose import registers the built-in cards, one per domain.
DOMAIN_MODULES: tuple[str, ...] = (
    "gdl_zoo.grids.models",
    "gdl_zoo.groups.models",
    "gdl_zoo.graphs.models",
    "gdl_zoo.meshes.models",
    "gdl_zoo.gauges.models",
    "gdl_zoo.weightspace.models",
)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REGISTRY: dict[str, ModelCard] = {}


@dataclass(frozen=True)
class ModelCard:
    """Everything the zoo knows about one architecture.

    Attributes:
        name: snake_case identifier, unique in the zoo.
        domain: the blueprint domain (``grids``, ``groups``, ``graphs``, …).
        group: the symmetry group in words, e.g. ``"cyclic shifts Z^2"``.
        flavour: ``CNN``, ``RNN``, ``GNN``, ``Transformer``, ``DeepSets``, …
        paper: the reference the architecture follows.
        factory: ``factory(**overrides) -> nn.Module`` building a small default instance.
        example_factory: ``example_factory(batch_size, dtype, generator) -> tuple``
            of inputs for that default instance.
        input_action: how the group acts on the inputs.
        output_action: how the same group acts on the outputs.
        exact: whether the symmetry holds up to round-off.
        tolerance: for approximate symmetries, the measured relative error the
            card declares (used in every dtype); ``None`` for exact ones.
        description: one sentence for listings.
        requires: optional extras the model needs, as ``(module, pip extra)``
            pairs, e.g. ``(("escnn", "escnn"),)``; see :meth:`missing_extras`.
        export_form: ``export_form(model, inputs) -> (module, module_inputs)`` or
            ``(module, module_inputs, deploy)``: the module that ``torch.export``
            exports to deploy the model, when that is not the model itself on the
            card's inputs (a mesh network bound to the operators of one mesh,
            precomputed; an escnn network converted to plain torch modules; the energy
            of a force field), and optionally ``deploy(program_module) -> callable``,
            what the deployment runs around the exported program (the forces, as the
            gradient of the exported energy).  ``deploy(program.module())(*module_inputs)``
            (``program.module()(*module_inputs)`` without ``deploy``) must equal
            ``model(*inputs)``; :func:`gdl_zoo.compilation.compile_check` checks it.
            ``None``: the model itself.
    """

    name: str
    domain: str
    group: str
    flavour: str
    paper: str
    factory: Callable[..., nn.Module] = field(repr=False)
    example_factory: Callable[..., tuple] = field(repr=False)
    input_action: Action
    output_action: Action
    exact: bool = True
    tolerance: float | None = None
    description: str = ""
    requires: tuple[tuple[str, str], ...] = ()
    export_form: Callable[[nn.Module, tuple], tuple] | None = field(default=None, repr=False)

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise ValueError(f"model names are snake_case, got {self.name!r}")
        if not self.exact and self.tolerance is None:
            raise ValueError(f"{self.name}: an approximate symmetry must declare its tolerance")

    def missing_extras(self) -> list[str]:
        """The pip extras whose modules cannot be imported here (empty when all are present)."""
        return [
            extra for module, extra in self.requires if importlib.util.find_spec(module) is None
        ]

    def build(self, **overrides: Any) -> nn.Module:
        """A fresh instance of the default model, with constructor ``overrides``.

        Raises:
            ImportError: naming the ``pip install "gdl-zoo[EXTRA]"`` command when an
                optional dependency is missing.
        """
        missing = self.missing_extras()
        if missing:
            extras = ",".join(missing)
            raise ImportError(
                f'model {self.name!r} needs the optional extra: pip install "gdl-zoo[{extras}]"'
            )
        return self.factory(**overrides)

    def example_inputs(
        self,
        batch_size: int = 2,
        dtype: torch.dtype = torch.float32,
        generator: torch.Generator | None = None,
    ) -> tuple:
        """Non-degenerate random inputs for the default model, as a tuple."""
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        return tuple(self.example_factory(batch_size, dtype, generator))

    def tolerance_for(self, dtype: torch.dtype) -> float:
        """The relative error this card promises in ``dtype``."""
        base = default_tolerance(dtype)
        return base if self.tolerance is None else max(base, self.tolerance)

    def check(
        self, dtype: torch.dtype = torch.float64, seed: int = 0, batch_size: int = 2
    ) -> EquivarianceReport:
        """Build the default model and measure its symmetry with the harness in ``dtype``."""
        torch.manual_seed(seed)
        model = self.build().to(dtype)
        inputs = self.example_inputs(batch_size, dtype, torch.Generator().manual_seed(seed))
        if len(inputs) == 1:  # single-input models: the actions act on the lone tensor
            inputs = inputs[0]
        return equivariance_error(
            model,
            inputs,
            self.input_action,
            self.output_action,
            generator=seed,
            tolerance=self.tolerance_for(dtype),
        )


def register(card: ModelCard, *, replace: bool = False) -> ModelCard:
    """Add ``card`` to the zoo; a second card of the same name needs ``replace=True``."""
    if not isinstance(card, ModelCard):
        raise TypeError(f"expected a ModelCard, got {type(card).__name__}")
    if card.name in _REGISTRY and not replace:
        raise ValueError(f"a model named {card.name!r} is already registered")
    _REGISTRY[card.name] = card
    return card


def unregister(name: str) -> None:
    """Remove a card (tests and plugins that register temporary models)."""
    _REGISTRY.pop(name, None)


def _load_domains() -> None:
    for module in DOMAIN_MODULES:
        importlib.import_module(module)


def list_models(domain: str | None = None) -> list[ModelCard]:
    """Every registered card (of one ``domain`` if given), sorted by domain and name."""
    _load_domains()
    cards = sorted(_REGISTRY.values(), key=lambda c: (c.domain, c.name))
    return [c for c in cards if domain is None or c.domain == domain]


def close_matches(name: str, choices: list[str]) -> list[str]:
    """Names in ``choices`` that look like ``name`` (for 'did you mean' messages)."""
    return difflib.get_close_matches(name, choices, n=3, cutoff=0.5)


def get(name: str) -> ModelCard:
    """The card called ``name``; an unknown name raises ``KeyError`` with close matches."""
    _load_domains()
    if name not in _REGISTRY:
        hint = close_matches(name, list(_REGISTRY))
        suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise KeyError(f"no model named {name!r} in the zoo{suggestion}")
    return _REGISTRY[name]
