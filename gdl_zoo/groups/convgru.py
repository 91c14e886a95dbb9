"""A convolutional GRU whose convolutions are p4 group convolutions: equivariant at every step.

Convolutional GRU of Ballas et al. 2016 (*Delving deeper into convolutional
networks for learning video representations*, ICLR) after Shi et al. 2015
(ConvLSTM), with every convolution replaced by a lifting or group convolution
(Cohen & Welling 2016, *Group equivariant convolutional networks*, ICML).
With ``⋆`` a lifting (scalar input) or group convolution (regular input) and
``⊛`` a group convolution, all with ``padding = k // 2``::

    z_t = σ(W_z ⋆ x_t + U_z ⊛ h_{t−1} + b_z)                 (update gate)
    r_t = σ(W_r ⋆ x_t + U_r ⊛ h_{t−1} + b_r)                 (reset gate)
    n_t = tanh(W_n ⋆ x_t + r_t ⊙ (U_n ⊛ h_{t−1} + b_{hn}) + b_n)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

Each term is a regular field and the gates act pointwise (pointwise maps
commute with fibre permutations), so if every input frame is rotated by ``g``
then every hidden state is ``g.h_t``: the recurrence is equivariant at every
time step, exactly for every image size (stride 1; rotation about the centre).

Shapes:
    B: batch size.  T: time steps.  C: input fields.  C_h: hidden fields.
    |G|: group order.  H, W: image size.
"""

from __future__ import annotations

import torch
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.groups.gconv import GroupConv, LiftingConv, check_field
from gdl_zoo.symmetry.groups import Group

__all__ = ["P4ConvGRUCell", "P4ConvGRU"]

_FIBRES = ("scalar", "regular")


class P4ConvGRUCell(nn.Module):
    """One step of the group-convolutional GRU: ``h_t = GRU(x_t, h_{t−1})`` on regular fields.

    Ballas et al. 2016 (ConvGRU) with p4 convolutions (Cohen & Welling 2016); the
    update rule is in :mod:`gdl_zoo.groups.convgru`.  The three input
    convolutions (``W_z, W_r, W_n``) are one lifting or group convolution with
    ``3·C_h`` output fields, the three hidden ones (``U_z, U_r, U_n``) one group
    convolution.

    Args:
        input_channels: ``C``: scalar channels, or regular fields when
            ``input_fibre="regular"``.
        hidden_channels: hidden fields ``C_h``.
        kernel_size: odd ``k``.
        input_fibre: ``"scalar"`` (lift each frame) or ``"regular"``.
        group: ``"C4"`` (p4), ``"D4"`` (p4m) or another point group of the grid.

    Shapes:
        x: ``(B, C, H, W)`` (scalar) or ``(B, C·|G|, H, W)`` (regular).
        h: ``(B, C_h·|G|, H, W)``.
        output: ``(B, C_h·|G|, H, W)``.
    """

    def __init__(
        self,
        input_channels: int,
        hidden_channels: int,
        kernel_size: int = 3,
        input_fibre: str = "scalar",
        group: str | Group = "C4",
    ):
        super().__init__()
        check_positive_int(input_channels, "input_channels")
        self.hidden_channels = check_positive_int(hidden_channels, "hidden_channels")
        check_positive_int(kernel_size, "kernel_size")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: expected an odd integer, got {kernel_size}")
        if input_fibre not in _FIBRES:
            raise ValueError(f"input_fibre: expected one of {_FIBRES}, got {input_fibre!r}")
        self.input_fibre = input_fibre
        pad = kernel_size // 2
        conv_in = LiftingConv if input_fibre == "scalar" else GroupConv
        self.input_conv = conv_in(
            input_channels, 3 * hidden_channels, kernel_size, group, padding=pad
        )
        self.hidden_conv = GroupConv(
            hidden_channels, 3 * hidden_channels, kernel_size, group, padding=pad
        )
        self.group = self.hidden_conv.group
        self.order = self.hidden_conv.order
        self.input_channels = input_channels
        self.input_order = self.input_conv.in_order

    def recur(self, gates_x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The GRU update from precomputed input terms ``W ⋆ x_t + b`` (3 regular fields).

        Shapes:
            gates_x: ``(B, 3·C_h·|G|, H, W)``, update, reset, candidate.
            h: ``(B, C_h·|G|, H, W)``.
            output: ``(B, C_h·|G|, H, W)``.
        """
        x_z, x_r, x_n = gates_x.chunk(3, dim=1)  # each (B, C_h·|G|, H, W)
        h_z, h_r, h_n = self.hidden_conv(h).chunk(3, dim=1)
        update = torch.sigmoid(x_z + h_z)
        reset = torch.sigmoid(x_r + h_r)
        candidate = torch.tanh(x_n + reset * h_n)
        return (1 - update) * candidate + update * h

    def check_hidden(self, h: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Validate a hidden state for inputs shaped like ``like`` (``(B, …, H, W)``)."""
        check_field(h, "h", self.hidden_channels, self.order, like=self)
        expected = (like.shape[0], self.hidden_channels * self.order, *like.shape[-2:])
        if tuple(h.shape) != expected:
            raise ValueError(
                f"h: expected shape (B, C_h·|G|, H, W) = {expected}, got {tuple(h.shape)}"
            )
        return h

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """One step; ``h = None`` starts from zeros."""
        layout = "(B, C·|G|, H, W)" if self.input_fibre == "regular" else "(B, C, H, W)"
        check_field(x, "x", self.input_channels, self.input_order, layout, like=self)
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_channels * self.order, *x.shape[-2:])
        else:
            self.check_hidden(h, x)
        return self.recur(self.input_conv(x), h)


class P4ConvGRU(nn.Module):
    """A group-convolutional GRU over a sequence of images: every hidden state is equivariant.

    Runs :class:`P4ConvGRUCell` over time (update rule in
    :mod:`gdl_zoo.groups.convgru`); the input convolutions of all ``T`` frames are
    computed at once.  Rotating (reflecting, for D4) every frame by ``g`` turns
    the states into ``g.h_t`` for every ``t``: ``Rot90Images(group, "scalar" or
    "regular", channel_dim=2)`` on the input, ``Rot90Images(group, "regular",
    channel_dim=2)`` on the output.

    Args:
        input_channels: ``C``: scalar channels, or regular fields when
            ``input_fibre="regular"``.
        hidden_channels: hidden fields ``C_h``.
        kernel_size: odd ``k``.
        input_fibre: ``"scalar"`` (each frame is lifted) or ``"regular"``.
        group: ``"C4"`` (p4), ``"D4"`` (p4m) or another point group of the grid.

    Shapes:
        x: ``(B, T, C, H, W)`` (scalar) or ``(B, T, C·|G|, H, W)`` (regular).
        h0: ``(B, C_h·|G|, H, W)`` (default zeros).
        output: ``(B, T, C_h·|G|, H, W)``, the hidden states ``h_1, …, h_T``.
    """

    def __init__(
        self,
        input_channels: int,
        hidden_channels: int,
        kernel_size: int = 3,
        input_fibre: str = "scalar",
        group: str | Group = "C4",
    ):
        super().__init__()
        self.cell = P4ConvGRUCell(input_channels, hidden_channels, kernel_size, input_fibre, group)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        cell = self.cell
        layout = "(B, T, C·|G|, H, W)" if cell.input_fibre == "regular" else "(B, T, C, H, W)"
        check_field(
            x, "x", cell.input_channels, cell.input_order, layout, channel_dim=2, like=self
        )
        batch, steps = x.shape[:2]
        gates_x = cell.input_conv(
            x.flatten(0, 1)
        )  # (B·T, C·|G_in|, H, W) -> (B·T, 3·C_h·|G|, H, W)
        gates_x = gates_x.unflatten(0, (batch, steps))
        if h0 is None:
            h = x.new_zeros(batch, cell.hidden_channels * cell.order, *x.shape[-2:])
        else:
            h = cell.check_hidden(h0, x)
        states = []
        for t in range(steps):
            h = cell.recur(gates_x[:, t], h)
            states.append(h)
        return torch.stack(states, dim=1)
