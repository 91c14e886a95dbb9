"""Accuracy under time warping: chrono-initialised gates against a plain tanh RNN.

Tallec & Ollivier 2018 (*Can recurrent neural networks warp time?*, ICLR) argue
that invariance to time warping requires gates, and that gates must be
initialised to the time constants the data may have (chrono init).  This suite
trains three recurrent classifiers of similar size with the same optimiser,
step budget and training batches on :func:`~gdl_zoo.data.warped_sequences`
(recall a cued symbol across a random warp of factor up to ``max_warp``), and
reports the test accuracy of each at each ``max_warp``:

- ``gated_rnn (chrono)``: :class:`~gdl_zoo.grids.gated_rnn.GatedRNNClassifier`
  (Bronstein et al. 2021, Eq. 53) with ``chrono_tmax = T``;
- ``tanh_rnn``: ``nn.RNN`` (the ungated recurrence ``h ← tanh(W z + U h + b)``)
  and a linear head;
- ``chrono_lstm``: :class:`~gdl_zoo.grids.gated_rnn.ChronoLSTM` with
  ``t_max = T`` and a linear head.

``T = length · max_warp`` is the sequence length, the longest possible delay.
Shapes use ``B`` batch, ``T`` steps, ``C`` channels, ``H`` hidden size, ``K`` classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gdl_zoo._validation import check_positive_int
from gdl_zoo.bench.suites import BenchContext, Record
from gdl_zoo.data.warped_sequences import warped_sequences
from gdl_zoo.grids.gated_rnn import ChronoLSTM, GatedRNNClassifier

__all__ = ["RecurrentClassifier", "time_warp_accuracy"]

NUM_SYMBOLS = 8
BATCH_SIZE = 32
LEARNING_RATE = 3e-3
GRAD_CLIP = 1.0
#: hidden sizes chosen for about 6k parameters each with 9 input channels, 8 classes
HIDDEN_SIZES = {"gated_rnn (chrono)": 48, "tanh_rnn": 68, "chrono_lstm": 34}
#: Metric of the per-model summary records that carry the accuracy-vs-warp curve.
CURVE_METRIC = "test accuracy, mean over warps"
#: (length, steps, test size) for quick and full runs
QUICK = (4, 400, 500)
FULL = (6, 1000, 2000)
MAX_WARPS = (1, 4, 16)


class RecurrentClassifier(nn.Module):
    """A recurrent encoder and a linear head on its final state: ``logits = W_out h(T) + b``.

    Args:
        rnn: ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (``batch_first=True``) or any module
            returning ``(states, h_T)`` with ``h_T`` of shape ``(B, H)``.
        hidden_size: ``H``.
        num_classes: ``K``.

    Shapes:
        - z: ``(B, T, C)``
        - output: ``(B, K)``
    """

    def __init__(self, rnn: nn.Module, hidden_size: int, num_classes: int):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _, last = self.rnn(z)
        if isinstance(last, tuple):  # nn.LSTM: (h_n, c_n)
            last = last[0]
        if last.dim() == 3:  # torch RNNs: (num_layers, B, H) -> (B, H) of the top layer
            last = last[-1]
        return self.head(last)


def _models(channels: int, t_max: float) -> dict[str, Callable[[], nn.Module]]:
    hidden = HIDDEN_SIZES
    return {
        "gated_rnn (chrono)": lambda: GatedRNNClassifier(
            channels, hidden["gated_rnn (chrono)"], NUM_SYMBOLS, chrono_tmax=t_max
        ),
        "tanh_rnn": lambda: RecurrentClassifier(
            nn.RNN(channels, hidden["tanh_rnn"], batch_first=True),
            hidden["tanh_rnn"],
            NUM_SYMBOLS,
        ),
        "chrono_lstm": lambda: RecurrentClassifier(
            ChronoLSTM(channels, hidden["chrono_lstm"], t_max=t_max),
            hidden["chrono_lstm"],
            NUM_SYMBOLS,
        ),
    }


def _accuracy(model: nn.Module, z: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        predictions = torch.cat([model(chunk).argmax(-1) for chunk in z.split(500)])
    return 100.0 * float((predictions == labels).double().mean())


def time_warp_accuracy(
    context: BenchContext,
    *,
    steps: int | None = None,
    max_warps: Sequence[int] | None = None,
    length: int | None = None,
    test_size: int | None = None,
) -> list[Record]:
    """Train each model on warped sequences at each ``max_warp``; record test accuracy.

    Every model sees the same training batches (a stream seeded by
    ``context.seed``) for the same number of Adam steps, and is scored on the
    same held-out sequences.  Model initialisation is seeded inside
    :func:`torch.random.fork_rng`, so the global generator is left untouched.

    Args:
        context: seed, device and ``quick`` (length 4, 400 steps, 500 test
            sequences) versus full (length 6, 1000 steps, 2000 test sequences).
        steps: override the number of training steps.
        max_warps: override the warp factors ``(1, 4, 16)``.
        length: override the number of symbols per sequence.
        test_size: override the number of test sequences.

    Returns:
        One :class:`~gdl_zoo.bench.suites.Record` per model and ``max_warp``,
        metric ``"test accuracy, max warp {w}"``, unit ``"%"``; then one per
        model, metric :data:`CURVE_METRIC`, whose ``details["curve"]`` holds
        the accuracy against the warp factor (the report plots it).
    """
    default_length, default_steps, default_test = QUICK if context.quick else FULL
    steps = check_positive_int(default_steps if steps is None else steps, "steps")
    length = default_length if length is None else length
    test_size = check_positive_int(default_test if test_size is None else test_size, "test_size")
    max_warps = tuple(MAX_WARPS if max_warps is None else max_warps)
    if not max_warps:
        raise ValueError(f"max_warps: expected at least one warp factor, got {max_warps!r}")
    for w in max_warps:
        check_positive_int(w, "max_warps entry")
    device = torch.device(context.device)
    channels = NUM_SYMBOLS + 1
    records = []
    for w in max_warps:
        seq_len = length * w
        t_max = float(max(seq_len, 3))  # chrono init needs t_max > 2
        test_generator = torch.Generator().manual_seed(context.seed + 1)
        z_test, y_test = warped_sequences(test_size, NUM_SYMBOLS, length, w, test_generator)
        z_test, y_test = z_test.to(device), y_test.to(device)
        for name, factory in _models(channels, t_max).items():
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(context.seed)
                model = factory().to(device)
            optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
            train_generator = torch.Generator().manual_seed(context.seed)
            start = time.perf_counter()
            for _ in range(steps):
                z, y = warped_sequences(BATCH_SIZE, NUM_SYMBOLS, length, w, train_generator)
                loss = F.cross_entropy(model(z.to(device)), y.to(device))
                optimiser.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
                optimiser.step()
            train_seconds = time.perf_counter() - start
            records.append(
                Record(
                    name=name,
                    metric=f"test accuracy, max warp {w}",
                    value=_accuracy(model, z_test, y_test),
                    unit="%",
                    details={
                        "params": sum(p.numel() for p in model.parameters()),
                        "hidden_size": HIDDEN_SIZES[name],
                        "steps": steps,
                        "batch_size": BATCH_SIZE,
                        "lr": LEARNING_RATE,
                        "length": length,
                        "seq_len": seq_len,
                        "chrono_tmax": None if name == "tanh_rnn" else t_max,
                        "num_symbols": NUM_SYMBOLS,
                        "chance": 100.0 / NUM_SYMBOLS,
                        "test_size": test_size,
                        "final_train_loss": float(loss.detach()),
                        "train_seconds": train_seconds,
                    },
                )
            )
    return records + _curves(records, max_warps)


def _curves(records: list[Record], max_warps: tuple[int, ...]) -> list[Record]:
    """One record per model: its mean accuracy over the warps, with the accuracy curve."""
    curves = []
    for name in dict.fromkeys(r.name for r in records):
        accuracy = [r.value for r in records if r.name == name]
        curve = {"x": list(max_warps), "y": accuracy, "x_label": "max warp factor"}
        curves.append(
            Record(name, CURVE_METRIC, sum(accuracy) / len(accuracy), "%", details={"curve": curve})
        )
    return curves
