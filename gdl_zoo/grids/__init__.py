"""Grids: signals on Z^d and sequences, with translations and time warps.

CNNs with circular padding (exact shift equivariance), residual networks, the
gated RNN with chrono initialisation (time warping) and the sequence
Transformer with circular relative positions.
"""

from gdl_zoo.grids.actions import CyclicShift, TimeWarp
from gdl_zoo.grids.cnn import CircularConv, ShiftCNN, StridedPool, signal_layout
from gdl_zoo.grids.gated_rnn import ChronoLSTM, GatedRNN, GatedRNNClassifier, chrono_bias_
from gdl_zoo.grids.resnet import ResidualBlock, ShiftResNet
from gdl_zoo.grids.seq_transformer import (
    CircularRelativeBias,
    SelfAttention,
    SeqTransformer,
    TransformerBlock,
)

__all__ = [
    "CyclicShift",
    "TimeWarp",
    "CircularConv",
    "ShiftCNN",
    "StridedPool",
    "signal_layout",
    "ChronoLSTM",
    "GatedRNN",
    "GatedRNNClassifier",
    "chrono_bias_",
    "ResidualBlock",
    "ShiftResNet",
    "CircularRelativeBias",
    "SelfAttention",
    "SeqTransformer",
    "TransformerBlock",
]
