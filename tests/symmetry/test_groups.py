"""Group laws of the small group objects."""

import pytest
import torch

from gdl_zoo.symmetry import CyclicGroup, DilationMonoid, SymmetricGroup, TranslationGroup


def _eq(a, b):
    return torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


@pytest.mark.parametrize(
    "group", [CyclicGroup(4), TranslationGroup(2, multiple=3), SymmetricGroup(5)], ids=repr
)
def test_group_laws(group):
    gen = torch.Generator().manual_seed(0)
    elements = group.generators() + [group.sample(gen) for _ in range(4)]
    e = group.identity()
    for g in elements:
        assert _eq(group.compose(g, e), g) and _eq(group.compose(e, g), g)
        assert _eq(group.compose(g, group.inverse(g)), e)
        for h in elements:
            for k in elements:
                left = group.compose(group.compose(g, h), k)
                assert _eq(left, group.compose(g, group.compose(h, k)))


def test_cyclic_group_elements_and_generator():
    c4 = CyclicGroup(4)
    assert c4.elements() == [0, 1, 2, 3]
    assert c4.generators() == [1]
    assert c4.name == "C4"


def test_translation_samples_are_multiples():
    group = TranslationGroup(2, multiple=4, max_shift=5)
    gen = torch.Generator().manual_seed(1)
    for _ in range(20):
        g = group.sample(gen)
        assert all(s % 4 == 0 and abs(s) <= 20 for s in g)
    assert group.elements() is None
    assert group.generators() == [(4, 0), (0, 4)]


def test_dilation_monoid_has_no_inverse():
    monoid = DilationMonoid((2, 3))
    assert monoid.compose(2, 3) == 6 and monoid.identity() == 1
    with pytest.raises(ValueError, match="no inverse"):
        monoid.inverse(2)


@pytest.mark.parametrize(
    "factory, arg",
    [(CyclicGroup, 0), (SymmetricGroup, -1), (TranslationGroup, 0), (DilationMonoid, (0,))],
)
def test_bad_arguments(factory, arg):
    with pytest.raises(ValueError, match="got"):
        factory(arg)
