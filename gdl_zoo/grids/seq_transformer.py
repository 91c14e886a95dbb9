"""Transformers on sequences: self-attention with circular relative positions.

Self-attention (Vaswani et al., 2017) treats its ``T`` tokens as a set: without
positional information it is equivariant to every permutation of the tokens
(Σ_T; Bronstein et al., *Geometric Deep Learning*, arXiv 2104.13478, §5.4
"Deep Sets, Transformers, and Latent Graph Inference").  A learned bias that
depends only on the relative position of two tokens (Shaw et al., 2018) breaks
Σ_T down to the translations of the sequence; measuring offsets modulo ``T``
makes the domain the cycle Z/TZ, so the model is exactly equivariant to cyclic
shifts, the grid symmetry of §4.2.

Shapes:
    B: batch size.
    T: sequence length (number of tokens).
    C: channels; ``C_in`` and ``C_out`` at the ends of a model, ``d_model``
        inside it.
    H: attention heads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from gdl_zoo._validation import check_positive_int, check_signal

__all__ = ["CircularRelativeBias", "SelfAttention", "TransformerBlock", "SeqTransformer"]

POSITIONAL_CHOICES: tuple[str | None, ...] = ("circular", None)


def _check_heads(d_model: int, num_heads: int) -> None:
    check_positive_int(d_model, "d_model")
    check_positive_int(num_heads, "num_heads")
    if d_model % num_heads:
        raise ValueError(f"d_model: expected a multiple of num_heads={num_heads}, got {d_model}")


class CircularRelativeBias(nn.Module):
    """A learned attention bias per head that depends only on ``(j − i) mod T``.

    Shaw, Uszkoreit & Vaswani, "Self-Attention with Relative Position
    Representations", NAACL 2018, in its scalar-bias form, on the cycle Z/TZ::

        β_h(i, j) = b_h[ o(j − i) mod max_len ],
        o(d) = ((d + ⌊T/2⌋) mod T) − ⌊T/2⌋  ∈ [−⌊T/2⌋, ⌈T/2⌉ − 1]

    ``o`` is the signed representative of the circular offset, so one parameter
    means the same offset ("one step back", "two steps ahead", …) for every
    ``T ≤ max_len`` and a model trained on one length transfers to others.
    Since ``β_h(i, j)`` is a function of ``(j − i) mod T``, it is unchanged when
    both tokens are shifted cyclically: ``β_h(i + s, j + s) = β_h(i, j)``.

    The ``(H, T, T)`` table is one gather of ``weight`` through an index tensor.

    Args:
        num_heads: ``H``, one bias vector per head.
        max_len: the longest sequence the bias can serve; ``weight`` has
            ``max_len`` entries per head.

    Shapes:
        weight: ``(H, max_len)``.
        output of ``forward(T)``: ``(H, T, T)``, entry ``[h, i, j]`` the bias of
        query ``i`` attending to key ``j``.
    """

    def __init__(self, num_heads: int, max_len: int):
        super().__init__()
        self.num_heads = check_positive_int(num_heads, "num_heads")
        self.max_len = check_positive_int(max_len, "max_len")
        self.weight = nn.Parameter(torch.empty(num_heads, max_len))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the biases from N(0, 0.1²): small, but enough to break permutation symmetry."""
        nn.init.normal_(self.weight, std=0.1)

    def forward(self, T: int) -> torch.Tensor:
        """The ``(H, T, T)`` bias table for a sequence of ``T`` tokens."""
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected a positive integer sequence length, got {T!r}")
        if T > self.max_len:
            raise ValueError(
                f"T: expected a sequence length of at most max_len={self.max_len}, got {T}"
            )
        positions = torch.arange(T, device=self.weight.device)
        offsets = positions[None, :] - positions[:, None]  # (T, T): j − i
        half = T // 2
        signed = torch.remainder(offsets + half, T) - half
        index = torch.remainder(signed, self.max_len)  # (T, T) into [0, max_len)
        return self.weight[:, index]  # (H, max_len) -> (H, T, T)

    def extra_repr(self) -> str:
        return f"num_heads={self.num_heads}, max_len={self.max_len}"


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention, optionally with a relative bias.

    Vaswani et al., "Attention Is All You Need", NeurIPS 2017.  For head ``h``
    with per-head width ``c = d_model / H``::

        q_i, k_i, v_i = W_q x_i, W_k x_i, W_v x_i   (split into H heads)
        a_h(i, j) = softmax_j( ⟨q_{h,i}, k_{h,j}⟩ / √c + β_h(i, j) )
        y_i = W_o concat_h Σ_j a_h(i, j) v_{h,j}

    With ``β = 0`` the update is permutation equivariant: relabelling tokens
    relabels the outputs.  With ``β`` from :class:`CircularRelativeBias` it is
    equivariant to cyclic shifts only.  The projections are laid out as in
    ``torch.nn.MultiheadAttention`` (``in_proj`` stacks ``W_q, W_k, W_v``), so its
    weights can be copied across.

    Args:
        d_model: ``C``, the token width; a multiple of ``num_heads``.
        num_heads: ``H``.
        bias_module: a module with ``forward(T) -> (H, T, T)`` (e.g.
            :class:`CircularRelativeBias`) added to the attention logits, or
            ``None`` for no positional information.

    Shapes:
        x: ``(B, T, C)``.
        output: ``(B, T, C)``.
    """

    def __init__(self, d_model: int, num_heads: int, bias_module: nn.Module | None = None):
        super().__init__()
        _check_heads(d_model, num_heads)
        if isinstance(bias_module, CircularRelativeBias) and bias_module.num_heads != num_heads:
            raise ValueError(
                f"bias_module: expected a bias with num_heads={num_heads}, "
                f"got num_heads={bias_module.num_heads}"
            )
        self.d_model = d_model
        self.num_heads = num_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.bias_module = bias_module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_signal(x, "x", "(B, T, C)", channels=self.d_model, channel_dim=2, like=self)
        qkv = rearrange(
            self.in_proj(x), "b t (three h c) -> three b h t c", three=3, h=self.num_heads
        )  # (B, T, 3C) -> 3 × (B, H, T, C/H)
        attn_mask = None
        if self.bias_module is not None:
            attn_mask = self.bias_module(x.shape[1]).to(x.dtype)  # (H, T, T)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
        return self.out_proj(rearrange(y, "b h t c -> b t (h c)"))  # (B, H, T, C/H) -> (B, T, C)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, num_heads={self.num_heads}"


class TransformerBlock(nn.Module):
    """A pre-LayerNorm Transformer block: attention, then a token-wise MLP.

    Xiong et al., "On Layer Normalization in the Transformer Architecture",
    ICML 2020 (pre-LN placement of Vaswani et al.'s block)::

        x ← x + Attn(LN₁(x))
        x ← x + W₂ GELU(W₁ LN₂(x))

    LayerNorm and the MLP act on each token alone, so the block has exactly
    the symmetry of its attention.

    Args:
        d_model: ``C``; a multiple of ``num_heads``.
        num_heads: ``H``.
        dim_feedforward: the MLP's hidden width.
        bias_module: the attention's relative bias (see :class:`SelfAttention`).

    Shapes:
        x: ``(B, T, C)``.
        output: ``(B, T, C)``.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dim_feedforward: int,
        bias_module: nn.Module | None = None,
    ):
        super().__init__()
        check_positive_int(dim_feedforward, "dim_feedforward")
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, num_heads, bias_module)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, dim_feedforward),
            nn.GELU(),
            nn.Linear(dim_feedforward, d_model),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_signal(x, "x", "(B, T, C)", channels=self.attn.d_model, channel_dim=2, like=self)
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SeqTransformer(nn.Module):
    """A sequence Transformer, equivariant to cyclic shifts or to all token permutations.

    Vaswani et al., "Attention Is All You Need", NeurIPS 2017, with relative
    position biases after Shaw et al., NAACL 2018; see Bronstein et al.,
    arXiv 2104.13478, §5.4, for Transformers as set/graph models::

        h⁰ = W_in x
        hˡ = Blockˡ(hˡ⁻¹),  l = 1 … L      (:class:`TransformerBlock`)
        y  = W_out LN(hᴸ)                  (per token), or
        y  = W_out mean_t LN(hᴸ)_t         (``pool=True``)

    Symmetry:
        ``positional=None``: every map is token-wise except attention, which is
        permutation equivariant, so ``f`` is exactly equivariant to Σ_T acting on
        the tokens (invariant with ``pool=True``).
        ``positional="circular"``: each block owns its own
        :class:`CircularRelativeBias` (biases are per layer, not shared), a
        function of ``(j − i) mod T``; ``f`` is then exactly equivariant to
        cyclic shifts of the tokens (invariant with ``pool=True``) and, in
        general, not to other permutations.

    Args:
        in_features: ``C_in``.
        out_features: ``C_out``.
        d_model: the token width inside the model; a multiple of ``num_heads``.
        num_heads: ``H``.
        num_layers: ``L``, the number of blocks.
        dim_feedforward: the MLP's hidden width in every block.
        positional: ``"circular"`` for circular relative biases, ``None`` for none.
        max_len: the longest sequence a ``"circular"`` model accepts.
        pool: average the tokens into one vector per sequence.

    Shapes:
        x: ``(B, T, C_in)``, ``T ≥ 1`` (``T ≤ max_len`` when ``positional="circular"``).
        output: ``(B, T, C_out)``, or ``(B, C_out)`` when ``pool=True``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        d_model: int = 32,
        num_heads: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 64,
        positional: str | None = "circular",
        max_len: int = 256,
        pool: bool = False,
    ):
        super().__init__()
        if positional not in POSITIONAL_CHOICES:
            raise ValueError(
                f"positional: expected one of {list(POSITIONAL_CHOICES)}, got {positional!r}"
            )
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        check_positive_int(num_layers, "num_layers")
        _check_heads(d_model, num_heads)
        self.positional = positional
        self.max_len = check_positive_int(max_len, "max_len")
        self.pool = bool(pool)
        self.input = nn.Linear(in_features, d_model)
        self.blocks = nn.ModuleList(
            TransformerBlock(
                d_model,
                num_heads,
                dim_feedforward,
                CircularRelativeBias(num_heads, max_len) if positional == "circular" else None,
            )
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.output = nn.Linear(d_model, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_signal(x, "x", "(B, T, C_in)", channels=self.in_features, channel_dim=2, like=self)
        if self.positional == "circular" and x.shape[1] > self.max_len:
            raise ValueError(
                f"x: expected at most max_len={self.max_len} tokens, got T={x.shape[1]}"
            )
        h = self.input(x)  # (B, T, C_in) -> (B, T, C)
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        if self.pool:
            h = h.mean(dim=1)  # (B, T, C) -> (B, C)
        return self.output(h)

    def extra_repr(self) -> str:
        return f"positional={self.positional!r}, max_len={self.max_len}, pool={self.pool}"
