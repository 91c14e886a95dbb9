"""A synthetic time-warp memory task: recall a cued symbol across randomly warped sequences.

After Tallec & Ollivier 2018 (*Can recurrent neural networks warp time?*, ICLR),
whose warped copy tasks show that a recurrent model must adapt its time
constants to the (unknown) speed at which a sequence is played.  Here each
sequence is ``L`` random symbols; the first one is the *key*, flagged by a cue
channel while it is shown, and the label is the key.  Every symbol is held for
an independent random number of steps ``w ∈ {1, …, max_warp}`` (a random,
piecewise-constant time warp), and the sequence is left-padded with blank steps
to the fixed length ``T = L · max_warp``, so the key must be remembered over
``w_1 + … + w_L`` steps: ``L (max_warp + 1) / 2`` on average and up to ``T``.

Shapes use ``N`` sequences, ``T`` steps, ``C = num_symbols + 1`` channels.
"""

from __future__ import annotations

import torch

__all__ = ["warped_sequences"]


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def warped_sequences(
    n: int,
    num_symbols: int,
    length: int,
    max_warp: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``n`` warped sequences whose label is the cued first symbol.

    Sequence ``i`` shows symbols ``s_1, …, s_L`` (uniform over ``num_symbols``),
    symbol ``s_j`` held for ``w_j ~ U{1, …, max_warp}`` steps, right-aligned in
    ``T = L·max_warp`` steps (blank steps first)::

        z[i, t] = (onehot(s_j), [j = 1])   while s_j is shown,   0 on blank steps
        label[i] = s_1

    Args:
        n: number of sequences ``N``.
        num_symbols: alphabet size, also the number of classes (≥ 2).
        length: symbols per sequence ``L`` (≥ 2: a key and at least one distractor).
        max_warp: the largest hold time of one symbol (≥ 1; 1 means no warp).
        generator: seeds symbols and warps (``None``: torch's global generator).
        dtype: floating dtype of ``z``.

    Returns:
        ``(z, labels)``: one-hot symbols plus the cue channel, and the keys.

    Shapes:
        - z: ``(N, T, C)`` with ``T = length·max_warp``, ``C = num_symbols + 1``
        - labels: ``(N,)`` int64 in ``[0, num_symbols)``
    """
    _check_int(n, "n", 1)
    _check_int(num_symbols, "num_symbols", 2)
    _check_int(length, "length", 2)
    _check_int(max_warp, "max_warp", 1)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype: expected a floating dtype, got {dtype}")
    steps = length * max_warp
    symbols = torch.randint(num_symbols, (n, length), generator=generator)  # (N, L)
    holds = torch.randint(1, max_warp + 1, (n, length), generator=generator)  # (N, L)
    # symbol j occupies steps [T - (w_j + … + w_L), T - (w_{j+1} + … + w_L))
    ends = steps - holds.flip(1).cumsum(1).flip(1) + holds  # (N, L), exclusive end
    t = torch.arange(steps)
    # index of the symbol shown at step t: the number of symbols ending at or before t
    which = (ends.unsqueeze(1) <= t.view(1, -1, 1)).sum(-1)  # (N, T) in [0, L]
    start = steps - holds.sum(1, keepdim=True)  # (N, 1)
    shown = t.view(1, -1) >= start  # (N, T)
    z = torch.zeros(n, steps, num_symbols + 1, dtype=dtype)
    current = symbols.gather(1, which.clamp(max=length - 1))  # (N, T)
    z[..., :num_symbols] = torch.nn.functional.one_hot(current, num_symbols).to(dtype)
    z[..., num_symbols] = (which == 0).to(dtype)
    z = z * shown.unsqueeze(-1).to(dtype)
    return z, symbols[:, 0].clone()
