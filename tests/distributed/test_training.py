"""``gdl-zoo train`` on 2 gloo ranks follows the trajectory of 1 process with the same global batch.

The 2-rank job is the real command under ``torchrun``; the reference is
:func:`gdl_zoo.training.train` in this process.  ``gcn`` has dropout (p = 0.5)
and a disjoint-union batch layout, so equal trajectories also show that the
dropout masks follow the samples, not the ranks.
"""

from __future__ import annotations

import json

import pytest
import torch

from gdl_zoo import zoo
from gdl_zoo.cli import main
from gdl_zoo.training import (
    RankInfo,
    TeacherTask,
    build_seeded,
    default_backend,
    output_tensors,
    process_group_from_environment,
    rank_info,
    shard_batch,
    sum_over_ranks,
    train,
)

RUN = {"steps": 4, "batch_size": 6, "lr": 0.05, "seed": 3}
CLI = ["--steps", "4", "--batch-size", "6", "--lr", "0.05", "--seed", "3", "--dtype", "float64"]


@pytest.fixture(scope="module")
def two_ranks(torchrun, tmp_path_factory) -> tuple[dict, dict]:
    """The JSON log and the saved state of ``gdl-zoo train gcn`` on 2 ranks."""
    out = tmp_path_factory.mktemp("train")
    command = ["-m", "gdl_zoo.cli", "train", "gcn", *CLI]
    torchrun([*command, "--out", str(out / "log.json"), "--save", str(out / "state.pt")])
    log = json.loads((out / "log.json").read_text(encoding="utf-8"))
    return log, torch.load(out / "state.pt", weights_only=True)


@pytest.fixture(scope="module")
def one_process():
    """The same run in this process, float64."""
    return train(zoo.get("gcn"), dtype=torch.float64, **RUN)


def test_two_ranks_split_the_global_batch(two_ranks):
    log, _ = two_ranks
    assert (log["world_size"], log["backend"], log["batch_size"], log["shard_size"]) == (
        2,
        "gloo",
        6,
        3,
    )


def test_two_ranks_follow_the_one_process_loss_trajectory(two_ranks, one_process):
    log, _ = two_ranks
    assert len(log["losses"]) == RUN["steps"]
    assert log["losses"] == pytest.approx(one_process.losses, rel=1e-12, abs=0)


def test_two_ranks_end_at_the_one_process_parameters(two_ranks, one_process):
    _, state = two_ranks
    expected = one_process.model.state_dict()
    assert set(state) == set(expected)
    for name, value in one_process.model.named_parameters():
        torch.testing.assert_close(state[name], value.detach(), rtol=1e-12, atol=1e-14)
    start = build_seeded(zoo.get("gcn"), RUN["seed"]).double().state_dict()
    assert any(not torch.equal(state[name], start[name]) for name in start)  # it did train


def test_other_global_batches_or_a_halved_gradient_give_other_trajectories(two_ranks):
    """Negative controls: the check above tells these apart at far above its tolerance.

    One rank's share alone (batch 3) is what ranks that skip the gradient
    all-reduce would each follow; dividing each rank's shard sum by the global
    batch, under DDP's average over ranks, halves the gradient: 1 process at lr/2.
    """
    log, _ = two_ranks
    card = zoo.get("gcn")
    for changed in ({"batch_size": 3}, {"lr": RUN["lr"] / 2}):
        other = train(card, dtype=torch.float64, **{**RUN, **changed})
        assert max(abs(a / b - 1) for a, b in zip(other.losses, log["losses"])) > 1e-4, changed


def test_shards_partition_the_batch_like_a_distributed_sampler():
    batch = torch.tensor([9, 4, 7, 1, 0, 5])
    shards = [shard_batch(batch, r, 3) for r in range(3)]
    assert [s.tolist() for s in shards] == [[9, 1], [4, 0], [7, 5]]
    assert sorted(torch.cat(shards).tolist()) == sorted(batch.tolist())
    with pytest.raises(ValueError, match="divisible by the 4 ranks, got shape \\(6,\\)"):
        shard_batch(batch, 0, 4)
    with pytest.raises(ValueError, match="expected 0 <= rank < 3, got 3"):
        shard_batch(batch, 3, 3)


def test_rank_info_reads_torchrun_variables():
    assert rank_info({}) == RankInfo(0, 1, 0)
    info = rank_info({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (info, info.distributed) == (RankInfo(3, 4, 1), True)
    with pytest.raises(ValueError, match="expected 0 <= RANK, LOCAL_RANK < WORLD_SIZE"):
        rank_info({"RANK": "2", "WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match=r"\$WORLD_SIZE: expected an integer, got 'two'"):
        rank_info({"WORLD_SIZE": "two"})


def test_a_single_process_gets_no_group_and_sums_are_identities():
    with process_group_from_environment("cpu", {}) as (info, group):
        assert (info, group) == (RankInfo(0, 1, 0), None)
    value = torch.tensor([1.5, 2.0])
    assert sum_over_ranks(value, None) is value
    assert (default_backend("cpu"), default_backend("cuda:1")) == ("gloo", "nccl")


def test_teacher_task_loss_is_zero_for_the_teacher_and_positive_for_the_student():
    card = zoo.get("egnn")  # returns (features, positions): both outputs enter the loss
    task = TeacherTask(card, num_samples=3, seed=5, dtype=torch.float64)
    assert len(task) == 3 and len(task.targets[0]) == 2
    teacher = build_seeded(card, 6).double().eval()
    student = build_seeded(card, 5).double().eval()
    with torch.no_grad():
        assert all(float(task.loss(teacher, i)) < 1e-24 for i in range(3))
        assert all(float(task.loss(student, i)) > 1e-6 for i in range(3))


def test_training_decreases_the_loss_and_leaves_the_global_rng_alone(device):
    card = zoo.get("gated_rnn")  # loads the domains first (weightspace draws at import)
    state = torch.random.get_rng_state()
    result = train(card, steps=20, batch_size=4, lr=0.5, dtype=torch.float64, device=device)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert next(result.model.parameters()).device.type == device.type
    assert result.losses[-1] < 0.5 * result.losses[0]
    assert (result.world_size, result.shard_size) == (1, 4)


def test_output_tensors_collects_nested_floating_outputs():
    a, b = torch.zeros(2), torch.ones(3, 1)
    assert output_tensors((a, [b, torch.arange(3)])) == [a, b]
    with pytest.raises(TypeError, match="expected a floating tensor or a tuple of them, got int"):
        output_tensors(3)


def test_bad_training_arguments_name_expected_and_received():
    card = zoo.get("mlp_probe")
    with pytest.raises(ValueError, match="batch_size: expected at most num_samples=4, got 5"):
        train(card, steps=1, batch_size=5, lr=0.1, num_samples=4)
    with pytest.raises(ValueError, match="lr: expected a finite number > 0, got -0.1"):
        train(card, steps=1, batch_size=2, lr=-0.1)
    with pytest.raises(ValueError, match=r"step 1: expected a finite loss, got (nan|inf)"):
        train(card, steps=3, batch_size=2, lr=1e200, dtype=torch.float64)


def test_train_command_alone_prints_its_log_and_saves_a_weights_only_checkpoint(tmp_path, capsys):
    args = ["train", "mlp_probe", "--steps", "3", "--batch-size", "2", "--lr", "0.5"]
    assert main([*args, "--json", "--save", str(tmp_path / "s.pt")]) == 0
    log = json.loads(capsys.readouterr().out)
    assert (log["world_size"], log["backend"], log["shard_size"], log["device"]) == (
        1,
        None,
        2,
        "cpu",
    )
    expected = train(zoo.get("mlp_probe"), steps=3, batch_size=2, lr=0.5)
    assert log["losses"] == pytest.approx(expected.losses, rel=1e-6)
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    for name, value in expected.model.state_dict().items():
        torch.testing.assert_close(state[name], value)
    assert main(args) == 0
    assert "mlp_probe: 3 steps on 1 rank(s), global batch 2 (2 per rank)" in capsys.readouterr().out


def test_train_command_errors(capsys):
    assert main(["train", "gcnn_typo", "--steps", "1"]) == 2
    assert "no model named 'gcnn_typo'" in capsys.readouterr().err
    assert main(["train", "mlp_probe", "--steps", "0"]) == 2
    assert "steps" in capsys.readouterr().err
