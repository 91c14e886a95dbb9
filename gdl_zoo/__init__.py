"""gdl_zoo: geometric deep learning architectures organised by the Erlangen blueprint.

Subpackages follow the blueprint's domains (``grids``, …); ``gdl_zoo.symmetry``
holds the groups, actions and the equivariance harness; ``gdl_zoo.zoo`` the
registry of model cards.  Importing the package does no heavy work.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
