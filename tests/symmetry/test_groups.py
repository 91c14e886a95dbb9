"""Group laws of the small group objects."""

import pytest
import torch

from gdl_zoo.symmetry import (
    CyclicGroup,
    DihedralGroup,
    DilationMonoid,
    DirectProduct,
    EuclideanGroup,
    SymmetricGroup,
    TranslationGroup,
)


def _eq(a, b):
    if isinstance(a, tuple):
        return all(_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor) and a.is_floating_point():
        return torch.allclose(a, b, atol=1e-12)
    return torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


@pytest.mark.parametrize(
    "group",
    [
        CyclicGroup(4),
        DihedralGroup(4),
        DihedralGroup(5),
        TranslationGroup(2, multiple=3),
        SymmetricGroup(5),
        EuclideanGroup(),
        EuclideanGroup(parity=False, translations=False),
        DirectProduct(CyclicGroup(3), SymmetricGroup(4), EuclideanGroup()),
    ],
    ids=repr,
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


def test_dihedral_group_matches_matrices():
    """(f, k) -> R_k M^f is a homomorphism into 2x2 orthogonal matrices."""
    group = DihedralGroup(4)

    def matrix(g):
        f, k = g
        angle = torch.tensor(2 * torch.pi * k / 4, dtype=torch.float64)
        rot = torch.stack([torch.cos(angle), -torch.sin(angle), torch.sin(angle), torch.cos(angle)])
        mirror = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64)) if f else torch.eye(2)
        return rot.reshape(2, 2) @ mirror.to(torch.float64)

    elements = group.elements()
    assert len(elements) == 8 and len(set(elements)) == 8
    for g in elements:
        for h in elements:
            assert torch.allclose(matrix(group.compose(g, h)), matrix(g) @ matrix(h), atol=1e-12)


@pytest.mark.parametrize("parity, translations", [(True, True), (False, False), (False, True)])
def test_euclidean_samples_are_isometries_of_the_right_subgroup(parity, translations):
    group = EuclideanGroup(parity, translations)
    gen = torch.Generator().manual_seed(0)
    dets = set()
    for g in [group.sample(gen) for _ in range(30)] + group.generators():
        q, t = g
        assert torch.allclose(q @ q.T, torch.eye(3, dtype=torch.float64), atol=1e-12)
        dets.add(round(float(torch.det(q))))
        assert translations or torch.equal(t, torch.zeros(3, dtype=torch.float64))
    assert dets == ({-1, 1} if parity else {1})


def test_direct_product_generators_elements_and_errors():
    product = DirectProduct(CyclicGroup(3), DihedralGroup(2))
    assert product.name == f"{CyclicGroup(3).name} x {DihedralGroup(2).name}"
    e_c, e_d = product.identity()
    generators = product.generators()
    assert len(generators) == len(CyclicGroup(3).generators()) + len(DihedralGroup(2).generators())
    assert all(_eq(g[1], e_d) for g in generators[: len(CyclicGroup(3).generators())])
    assert all(_eq(g[0], e_c) for g in generators[len(CyclicGroup(3).generators()) :])
    elements = product.elements()
    assert len(elements) == 3 * 4 and len({repr(x) for x in elements}) == 12
    assert DirectProduct(CyclicGroup(2), EuclideanGroup()).elements() is None
    assert DirectProduct(SymmetricGroup(2), name="P").name == "P"
    with pytest.raises(TypeError, match="one or more Group objects"):
        DirectProduct()
    with pytest.raises(TypeError, match="one or more Group objects, got \\['int'\\]"):
        DirectProduct(3)
