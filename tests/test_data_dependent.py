"""Values read from the data: ints eagerly, symbolic ints and runtime asserts under export."""

import pytest
import torch

from gdl_zoo._data_dependent import check_under_export, data_dependent_int


class _Count(torch.nn.Module):
    """``B = x[-1] + 1`` rows of zeros, ``x`` required sorted: the shape read from the data."""

    def forward(self, index):
        check_under_export(torch.cummax(index, 0).values == index, "index: expected sorted")
        return index.new_zeros(data_dependent_int(index[-1], minimum=0) + 1)


def test_eagerly_an_int_and_no_assertion():
    value = data_dependent_int(torch.tensor([4]), minimum=0)
    assert value == 4 and type(value) is int
    assert data_dependent_int(torch.tensor(-3), minimum=0) == -3  # eager callers check bounds
    check_under_export(torch.tensor([False]), "never raised eagerly")


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"one-element tensor, got shape \(2,\)"):
        data_dependent_int(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="torch.bool tensor, got torch.int64"):
        check_under_export(torch.tensor([1]), "x")


def test_exported_program_reads_the_value_and_asserts_the_conditions():
    program = torch.export.export(_Count(), (torch.tensor([0, 0, 1, 1, 1]),))
    module = program.module()
    assert module(torch.tensor([0, 1, 2, 3, 3])).shape == (4,)  # not the example's 2
    with pytest.raises(RuntimeError, match="Runtime assertion failed"):
        module(torch.tensor([0, 2, 1, 1, 1]))  # unsorted
    with pytest.raises(RuntimeError, match="Runtime assertion failed"):
        module(torch.tensor([-5, -4, -3, -2, -1]))  # B - 1 < 0


def test_without_it_export_cannot_read_the_value():
    """Negative control: ``int()`` of a traced tensor is what failed before."""

    class Eager(torch.nn.Module):
        def forward(self, index):
            return index.new_zeros(int(index[-1]) + 1)

    with pytest.raises(Exception, match="data-dependent"):
        torch.export.export(Eager(), (torch.tensor([0, 0, 1]),))
