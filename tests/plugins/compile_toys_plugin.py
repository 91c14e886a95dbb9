"""A plugin module registering two models that are wrong only under ``torch.compile``.

``toy_compiled_differs`` adds one when compiled; ``toy_compile_crashes`` kills
its process when compiled (as a compiler segfault would).
"""

import os

import torch
from torch import nn
from toy_cards import toy_card  # beside this file, on the plugin's path

from gdl_zoo import zoo


class CompiledDiffers(nn.Module):
    """Adds one under torch.compile only: the compiled model is wrong by construction."""

    def forward(self, x):
        return 2 * x + (1.0 if torch.compiler.is_compiling() else 0.0)


class CompileCrashes(nn.Module):
    """Aborts the process when traced for compilation: stands in for a crashing compiler."""

    def forward(self, x):
        if torch.compiler.is_compiling():
            os.abort()
        return 2 * x


NAMES = ("toy_compiled_differs", "toy_compile_crashes")
zoo.register(toy_card(NAMES[0], CompiledDiffers), replace=True)
zoo.register(toy_card(NAMES[1], CompileCrashes), replace=True)
