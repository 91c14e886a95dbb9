"""Groups, their actions on signals, and the equivariance harness."""

from gdl_zoo.symmetry.actions import Action, AxisPermutation, Invariant, TupleAction
from gdl_zoo.symmetry.groups import (
    CyclicGroup,
    DihedralGroup,
    DilationMonoid,
    DirectProduct,
    EuclideanGroup,
    Group,
    SymmetricGroup,
    TranslationGroup,
)
from gdl_zoo.symmetry.testing import (
    DEFAULT_TOLERANCES,
    ElementResult,
    EquivarianceReport,
    assert_equivariant,
    assert_invariant,
    check_action,
    default_tolerance,
    equivariance_error,
)

__all__ = [
    "Action",
    "AxisPermutation",
    "Invariant",
    "TupleAction",
    "Group",
    "CyclicGroup",
    "DihedralGroup",
    "DilationMonoid",
    "DirectProduct",
    "EuclideanGroup",
    "SymmetricGroup",
    "TranslationGroup",
    "DEFAULT_TOLERANCES",
    "ElementResult",
    "EquivarianceReport",
    "assert_equivariant",
    "assert_invariant",
    "check_action",
    "default_tolerance",
    "equivariance_error",
]
