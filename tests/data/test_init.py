"""The data package re-exports the graph loaders and generators by their module names."""

import gdl_zoo.data as data
from gdl_zoo.data import planetoid, synthetic_graphs, tu_dataset


def test_graph_loaders_and_generators_are_exported():
    for module in (planetoid, synthetic_graphs, tu_dataset):
        for name in module.__all__:
            assert name in data.__all__ and getattr(data, name) is getattr(module, name)
