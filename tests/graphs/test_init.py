"""The graphs package re-exports every public name lazily."""

import pytest

import gdl_zoo.graphs as graphs


def test_every_export_resolves():
    for name in graphs.__all__:
        assert getattr(graphs, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute"):
        graphs.NoSuchLayer  # noqa: B018
