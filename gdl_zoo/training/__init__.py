"""Training loops for the zoo's models, in one process or data-parallel under ``torchrun``.

A teacher task for every model card (:class:`TeacherTask`), an SGD loop that
runs alone or under :class:`~torch.nn.parallel.DistributedDataParallel`
(:func:`train`), the process-group helpers it uses, and the ``gdl-zoo train``
command.  Names are imported on first access (PEP 562), so
``import gdl_zoo.training`` stays cheap.
"""

from __future__ import annotations

from gdl_zoo._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "RankInfo": "distributed",
    "rank_info": "distributed",
    "default_backend": "distributed",
    "process_group_from_environment": "distributed",
    "shard_batch": "distributed",
    "sum_over_ranks": "distributed",
    "TeacherTask": "task",
    "build_seeded": "task",
    "output_tensors": "task",
    "TrainResult": "loop",
    "train": "loop",
    "add_train_command": "command",
    "run_train_command": "command",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
