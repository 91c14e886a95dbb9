"""Datasets: loaders of standard raw layouts and seeded synthetic generators."""

from gdl_zoo.data.warped_sequences import warped_sequences

__all__ = ["warped_sequences"]
