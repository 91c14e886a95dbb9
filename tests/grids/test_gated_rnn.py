"""Tests of the time-warping gated recurrences (gdl_zoo.grids.gated_rnn)."""

import math

import pytest
import torch

from gdl_zoo.grids.actions import TimeWarp
from gdl_zoo.grids.gated_rnn import ChronoLSTM, GatedRNN, GatedRNNClassifier, chrono_bias_
from gdl_zoo.symmetry.actions import Invariant, TupleAction
from gdl_zoo.symmetry.testing import assert_invariant, equivariance_error

DTYPES = [torch.float32, torch.float64]
# relative tolerance of an exact identity computed in dtype, with room for ~100 steps of rounding
EXACT = {torch.float32: 1e-5, torch.float64: 1e-12}


def _leaky(dtype, seed=0, hidden=16):
    torch.manual_seed(seed)
    return GatedRNN(3, hidden, recurrent_gate=False, recurrent_candidate=False, chrono_tmax=8).to(
        dtype
    )


def _inputs(dtype, batch=2, steps=12, channels=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, steps, channels, generator=generator).to(dtype)


def _assert_same(actual, expected, dtype):
    """Equal up to rounding, relative to the largest entry (as the harness measures)."""
    scale = float(expected.detach().abs().max())
    torch.testing.assert_close(actual, expected, rtol=0, atol=EXACT[dtype] * scale)


def _final_state(rnn):
    return lambda z, time_scale: rnn(z, time_scale)[1]


# --- the exact warp consequence of the leaky configuration ---------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_final_state_is_warp_invariant_by_harness(dtype):
    rnn = _leaky(dtype)
    inputs = (_inputs(dtype), torch.ones(2, dtype=dtype))
    assert_invariant(_final_state(rnn), inputs, TimeWarp(factors=(2, 3, 5)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_classifier_is_warp_invariant_by_harness(dtype):
    torch.manual_seed(0)
    model = GatedRNNClassifier(
        3, 16, 4, chrono_tmax=8, recurrent_gate=False, recurrent_candidate=False
    ).to(dtype)
    inputs = (_inputs(dtype), torch.ones(2, dtype=dtype))
    assert_invariant(model, inputs, TimeWarp(factors=(2, 3)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [2, 3, 7])
def test_leaky_slowed_run_hits_the_same_states(dtype, k):
    rnn = _leaky(dtype)
    z = _inputs(dtype)
    states, last = rnn(z)
    slow_states, slow_last = rnn(z.repeat_interleave(k, dim=1), 1.0 / k)
    assert slow_states.shape == (2, 12 * k, 16)
    _assert_same(slow_states[:, k - 1 :: k], states, dtype)
    _assert_same(slow_last, last, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_per_step_time_scale_warp(dtype):
    """A clock rate varying per step (B, T) is stretched along with the sequence."""
    rnn, z, k = _leaky(dtype), _inputs(dtype), 3
    generator = torch.Generator().manual_seed(1)
    scale = (0.5 + torch.rand(2, 12, generator=generator)).to(dtype)
    states, _ = rnn(z, scale)
    slow_states, _ = rnn(z.repeat_interleave(k, dim=1), scale.repeat_interleave(k, dim=1) / k)
    _assert_same(slow_states[:, k - 1 :: k], states, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_negative_control_without_rescaled_clock_is_not_invariant(dtype):
    """Stretching z but keeping time_scale = 1 must fail the harness (the tester can fail)."""
    rnn = _leaky(dtype)
    inputs = (_inputs(dtype), torch.ones(2, dtype=dtype))
    stretch_only_z = TupleAction(TimeWarp(factors=(2, 3)), None)
    report = equivariance_error(_final_state(rnn), inputs, stretch_only_z, Invariant())
    assert report.max_error > 1e-2
    with pytest.raises(AssertionError, match="equivariance FAILED"):
        assert_invariant(_final_state(rnn), inputs, stretch_only_z)


# --- the recurrent model: invariance in the limit of fine sampling -------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_recurrent_slowed_runs_converge_at_first_order(dtype):
    """Slowing down k times with time_scale 1/k makes k Euler steps of one ODE per input step.

    Asserted: d(k) = max |states_k[:, k-1::k] - states_2k[:, 2k-1::2k]| (the gap between
    the runs slowed k and 2k times, at the times of the original steps) at least nearly
    halves each time k doubles (k = 1, 2, 4, 8), i.e. the slowed runs form a Cauchy
    sequence converging at first order: the full model is warp invariant in the limit.
    """
    torch.manual_seed(0)
    rnn = GatedRNN(3, 16, chrono_tmax=8).to(dtype)
    z = _inputs(dtype)

    def slowed(k):
        return rnn(z.repeat_interleave(k, dim=1), 1.0 / k)[0][:, k - 1 :: k]

    with torch.no_grad():
        runs = {k: slowed(k) for k in (1, 2, 4, 8, 16)}
    gaps = [float((runs[k] - runs[2 * k]).abs().max()) for k in (1, 2, 4, 8)]
    assert gaps[0] > 1e-3  # the recurrent model is genuinely not exactly invariant
    for coarse, fine in zip(gaps, gaps[1:]):
        assert fine < 0.6 * coarse


# --- chrono initialisation -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_chrono_bias_distribution(dtype):
    t_max = 20.0
    bias = torch.zeros(20000, dtype=dtype)
    out = chrono_bias_(bias, t_max, generator=torch.Generator().manual_seed(0))
    assert out is bias
    # b = -log u with u in [1, t_max - 1]: b in [-log(t_max - 1), 0]
    assert float(bias.max()) <= 0.0
    assert float(bias.min()) >= -math.log(t_max - 1) - 1e-6
    # characteristic times 1/σ(b) = 1 + u spread uniformly over [2, t_max]
    times = 1.0 / torch.sigmoid(bias.double())
    assert float(times.min()) >= 2.0 - 1e-4 and float(times.max()) <= t_max + 1e-4
    assert abs(float(times.mean()) - (2.0 + t_max) / 2) < 0.2
    quartiles = torch.quantile(times, torch.tensor([0.25, 0.75], dtype=torch.float64))
    expected = torch.tensor([2 + 0.25 * (t_max - 2), 2 + 0.75 * (t_max - 2)], dtype=torch.float64)
    torch.testing.assert_close(quartiles, expected, rtol=0, atol=0.3)


def test_chrono_bias_is_reproducible_from_generator():
    a = chrono_bias_(torch.empty(50), 10, generator=torch.Generator().manual_seed(3))
    b = chrono_bias_(torch.empty(50), 10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("t_max", [2, 1.5, -3.0, float("inf"), float("nan")])
def test_chrono_bias_rejects_bad_t_max(t_max):
    with pytest.raises(ValueError, match=r"t_max: expected a finite real number > 2, got"):
        chrono_bias_(torch.empty(4), t_max)


def test_chrono_bias_rejects_integer_bias():
    with pytest.raises(TypeError, match="expected a floating-point tensor, got dtype torch.int64"):
        chrono_bias_(torch.zeros(4, dtype=torch.long), 10)


def test_gated_rnn_chrono_init_touches_only_the_gate_bias():
    torch.manual_seed(0)
    rnn = GatedRNN(3, 32, chrono_tmax=50)
    gate_bias, candidate_bias = rnn.bias_ih.detach()[32:], rnn.bias_ih.detach()[:32]
    assert float(gate_bias.max()) <= 0.0 and float(gate_bias.min()) >= -math.log(49) - 1e-6
    assert float(gate_bias.min()) < -2.0  # long time constants are present
    assert float(candidate_bias.abs().max()) <= 1 / math.sqrt(32)
    with pytest.raises(ValueError, match="chrono_tmax: expected a finite real number > 2, got 2"):
        GatedRNN(3, 32, chrono_tmax=2)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_chrono_lstm_biases(num_layers):
    torch.manual_seed(0)
    t_max, h = 30.0, 8
    lstm = ChronoLSTM(3, h, t_max=t_max, num_layers=num_layers)
    for layer in range(num_layers):
        bias_ih = getattr(lstm.lstm, f"bias_ih_l{layer}").detach()
        bias_hh = getattr(lstm.lstm, f"bias_hh_l{layer}").detach()
        b_input, b_forget = bias_ih[:h], bias_ih[h : 2 * h]
        torch.testing.assert_close(b_input, -b_forget)
        assert float(b_forget.min()) >= 0.0
        assert float(b_forget.max()) <= math.log(t_max - 1) + 1e-6
        assert torch.equal(bias_hh[: 2 * h], torch.zeros(2 * h))
        assert float(bias_hh[2 * h :].abs().max()) > 0.0  # cell and output gates keep torch's init
    with pytest.raises(ValueError, match="t_max: expected a finite real number > 2, got 1"):
        ChronoLSTM(3, h, t_max=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_chrono_lstm_forward_shapes(dtype):
    torch.manual_seed(0)
    lstm = ChronoLSTM(3, 8, t_max=10, num_layers=2).to(dtype)
    states, last = lstm(_inputs(dtype))
    assert states.shape == (2, 12, 8) and last.shape == (2, 8)
    assert states.dtype == dtype
    torch.testing.assert_close(last, states[:, -1])
    with pytest.raises(ValueError, match=r"expected 3 channels"):
        lstm(_inputs(dtype, channels=4))


# --- forward semantics -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_shapes_and_final_state(dtype):
    torch.manual_seed(0)
    rnn = GatedRNN(3, 16, chrono_tmax=8).to(dtype)
    states, last = rnn(_inputs(dtype))
    assert states.shape == (2, 12, 16) and last.shape == (2, 16)
    assert states.dtype == dtype
    assert torch.equal(last, states[:, -1])
    model = GatedRNNClassifier(3, 16, 4).to(dtype)
    assert model(_inputs(dtype)).shape == (2, 4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unit_time_scale_equals_default(dtype):
    torch.manual_seed(0)
    rnn = GatedRNN(3, 16, chrono_tmax=8).to(dtype)
    z = _inputs(dtype)
    default, _ = rnn(z)
    for scale in (1, 1.0, torch.ones(2, dtype=dtype), torch.ones(2, 12), torch.tensor(1.0)):
        assert torch.equal(rnn(z, scale)[0], default)


@pytest.mark.parametrize("dtype", DTYPES)
def test_time_scale_matches_reference_gate(dtype):
    """Γ_s = 1 - (1 - σ(a))^s, checked against a direct per-step reference on one step."""
    torch.manual_seed(0)
    rnn = GatedRNN(3, 5).to(dtype)
    z, h0 = _inputs(dtype, steps=1), _inputs(dtype, steps=5)[:, :, 0]
    s = torch.tensor([0.3, 2.5], dtype=dtype)
    _, h1 = rnn(z, s, h0)
    pre = z[:, 0] @ rnn.weight_ih.T + rnn.bias_ih
    r = torch.tanh(pre[:, :5] + h0 @ rnn.weight_hh_candidate.T)
    a = pre[:, 5:] + h0 @ rnn.weight_hh_gate.T
    gate = 1 - (1 - torch.sigmoid(a)) ** s[:, None]
    _assert_same(h1, gate * r + (1 - gate) * h0, dtype)


def test_h0_is_the_starting_state():
    torch.manual_seed(0)
    rnn = GatedRNN(3, 4).double()
    z = _inputs(torch.float64)
    states, _ = rnn(z)
    # continuing from h(6) over the last 6 steps reproduces the last 6 states
    tail, _ = rnn(z[:, 6:], h0=states[:, 5])
    torch.testing.assert_close(tail, states[:, 6:])


def test_gradients_flow_to_parameters_inputs_and_clock():
    torch.manual_seed(0)
    model = GatedRNNClassifier(3, 8, 4, chrono_tmax=10)
    z = _inputs(torch.float32).requires_grad_()
    scale = torch.full((2,), 0.7, requires_grad=True)
    model(z, scale).square().sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert float(p.grad.abs().max()) > 0, name
    assert float(z.grad[:, 0].abs().max()) > 0  # the first step reaches the output
    assert scale.grad is not None and float(scale.grad.abs().max()) > 0


def test_flags_remove_recurrent_weights():
    rnn = GatedRNN(3, 4, recurrent_gate=False, recurrent_candidate=True)
    assert rnn.weight_hh_gate is None and rnn.weight_hh_candidate is not None
    names = {n for n, _ in rnn.named_parameters()}
    assert names == {"weight_ih", "bias_ih", "weight_hh_candidate"}


# --- input validation ------------------------------------------------------------------------


@pytest.fixture
def rnn():
    torch.manual_seed(0)
    return GatedRNN(3, 4)


def test_rejects_wrong_rank(rnn):
    with pytest.raises(
        ValueError, match=r"z: expected shape \(B, T, C\) \(rank 3\), got \(12, 3\)"
    ):
        rnn(torch.randn(12, 3))


def test_rejects_wrong_channels(rnn):
    with pytest.raises(ValueError, match=r"z: expected 3 channels .* got 5"):
        rnn(torch.randn(2, 12, 5))


def test_rejects_integer_dtype(rnn):
    with pytest.raises(
        TypeError, match="z: expected a floating-point tensor, got dtype torch.int64"
    ):
        rnn(torch.ones(2, 12, 3, dtype=torch.long))


def test_rejects_empty_sequence(rnn):
    with pytest.raises(
        ValueError, match=r"z: expected a non-empty \(B, T, C\) tensor, got \(2, 0, 3\)"
    ):
        rnn(torch.randn(2, 0, 3))


@pytest.mark.parametrize("scale", [0.0, -1.0, float("inf"), float("nan"), torch.tensor([1.0, 0.0])])
def test_rejects_non_positive_time_scale(rnn, scale):
    with pytest.raises(ValueError, match="time_scale: expected positive finite values, got"):
        rnn(torch.randn(2, 12, 3), scale)


@pytest.mark.parametrize("shape", [(3,), (2, 5), (2, 12, 1)])
def test_rejects_time_scale_of_wrong_shape(rnn, shape):
    with pytest.raises(
        ValueError,
        match=r"time_scale: expected a positive number or a tensor of "
        r"shape \(\), \(B,\) = \(2,\) or \(B, T\) = \(2, 12\), got shape",
    ):
        rnn(torch.randn(2, 12, 3), torch.ones(shape))


@pytest.mark.parametrize("scale", [True, "1", [1.0, 1.0]])
def test_rejects_time_scale_of_wrong_type(rnn, scale):
    with pytest.raises(TypeError, match="time_scale: expected a positive number"):
        rnn(torch.randn(2, 12, 3), scale)


def test_rejects_bad_h0(rnn):
    with pytest.raises(ValueError, match=r"h0: expected shape \(B, H\) = \(2, 4\), got \(2, 5\)"):
        rnn(torch.randn(2, 12, 3), h0=torch.zeros(2, 5))
    with pytest.raises(TypeError, match="h0: expected a floating-point tensor"):
        rnn(torch.randn(2, 12, 3), h0=torch.zeros(2, 4, dtype=torch.long))


@pytest.mark.parametrize("size", [0, -1, 2.0, True])
def test_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="hidden_size: expected a positive integer, got"):
        GatedRNN(3, size)
