"""Build time of steerable-convolution bases (escnn), with and without the opt-in basis cache.

Building an escnn ``R2Conv`` solves the kernel constraint for every pair of
input and output representations, and for ``D16`` this needs numerical
Clebsch–Gordan coefficients (minutes on a cold start; escnn keeps them in a
joblib cache inside its package directory).  This suite builds one
regular → regular convolution per configuration, each build in a fresh Python
process (so no in-memory cache of escnn helps), and reports, side by side:

- ``escnn R2Conv``: escnn's own layer (the reference);
- ``steerable_conv, no cache``: :func:`~gdl_zoo.groups.steerable.steerable_conv`
  (escnn plus the exact grid symmetrisation);
- ``steerable_conv, cache miss``: the same, writing the basis cache into an empty
  directory;
- ``steerable_conv, cache hit``: the same, reading that directory;
- the speed-up ``escnn R2Conv / cache hit``.

Timings exclude the interpreter start and ``import escnn`` (~4 s here).  The
number of files in escnn's own cache before each build is recorded in the
details (0 means a cold escnn).  Quick runs time C8 5×5; full runs add D16 5×5.
"""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from gdl_zoo.bench.suites import BenchContext, Record, ratio
from gdl_zoo.groups.steerable import ESCNN_INSTALL

__all__ = ["BasisConfig", "QUICK_CONFIGS", "FULL_CONFIGS", "basis_build_time"]


@dataclass(frozen=True)
class BasisConfig:
    """One convolution to build: ``fields`` regular fields of ``C_n`` (or ``D_n``) in and out.

    Attributes:
        label: e.g. ``"C8"``.
        n: rotations in the group.
        dihedral: add reflections (``D_n``).
        kernel_size: filter size.
        fields: regular fields in and out.
    """

    label: str
    n: int
    dihedral: bool
    kernel_size: int = 5
    fields: int = 4

    @property
    def name(self) -> str:
        """``"C8 regular 5x5"``."""
        return f"{self.label} regular {self.kernel_size}x{self.kernel_size}"


#: The bases a quick run builds.
QUICK_CONFIGS = (BasisConfig("C8", 8, False),)
#: The bases a full run builds (adds the slow D16 5×5 regular basis).
FULL_CONFIGS = QUICK_CONFIGS + (BasisConfig("D16", 16, True),)

VARIANTS = (
    ("escnn R2Conv", "escnn", None),
    ("steerable_conv, no cache", "ours", None),
    ("steerable_conv, cache miss", "ours", "miss"),
    ("steerable_conv, cache hit", "ours", "hit"),
)

_CHILD = r"""
import json, sys, time
from pathlib import Path
from gdl_zoo.groups.steerable import require_escnn, steerable_conv
config = json.loads(sys.argv[1])
escnn = require_escnn()
cache_files = sum(1 for p in Path(escnn.group.__cache_path__).rglob("*") if p.is_file())
start = time.perf_counter()
rotations = escnn.gspaces.flipRot2dOnR2 if config["dihedral"] else escnn.gspaces.rot2dOnR2
gspace = rotations(config["n"])
field_type = escnn.nn.FieldType(gspace, [gspace.regular_repr] * config["fields"])
k = config["kernel_size"]
if config["builder"] == "escnn":
    conv = escnn.nn.R2Conv(field_type, field_type, k, padding=k // 2)
else:
    conv = steerable_conv(field_type, field_type, k, basis_cache=config["cache"])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "params": conv.weights.numel(),
                  "escnn_version": escnn.__version__, "escnn_cache_files": cache_files}))
"""


def _measure(config: BasisConfig, builder: str, cache: str | None) -> dict:
    """Build one layer in a fresh interpreter; its ``{"seconds", "params", …}``."""
    payload = json.dumps({**config.__dict__, "builder": builder, "cache": cache})
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, payload], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"building {config.name} ({builder}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _escnn_available() -> bool:
    return importlib.util.find_spec("escnn") is not None


def _skipped(configs) -> list[Record]:
    reason = f"escnn is not installed: {ESCNN_INSTALL}"
    return [
        Record(config.name, f"build time, {label}", math.nan, "s", details={"skipped": reason})
        for config in configs
        for label, _, _ in VARIANTS
    ]


def basis_build_time(
    context: BenchContext, configs: tuple[BasisConfig, ...] | None = None
) -> list[Record]:
    """Time building steerable bases with escnn and with the basis cache, fresh process each.

    Args:
        context: ``quick`` (C8 5×5, one build per variant) or full (C8 and D16
            5×5, ``context.repeat`` builds per variant).
        configs: override the configurations.

    Returns:
        Per configuration, one :class:`~gdl_zoo.bench.suites.Record` per variant
        (metric ``"build time, {variant}"``, unit ``"s"``, the minimum over
        repeats; details: min/median/max, parameters, escnn version and the files
        in escnn's own cache before each build) and one ``"speed-up of the cache
        hit over escnn R2Conv"`` ratio.  Without escnn, ``nan`` records that say why.
    """
    if configs is None:
        configs = QUICK_CONFIGS if context.quick else FULL_CONFIGS
    if not _escnn_available():
        return _skipped(configs)
    repeats = 1 if context.quick else context.repeat
    records = []
    for config in configs:
        runs: dict[str, list[dict]] = {label: [] for label, _, _ in VARIANTS}
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="gdl-zoo-basis-") as directory:
                for label, builder, cache in VARIANTS:
                    runs[label].append(_measure(config, builder, directory if cache else None))
        for label, _, _ in VARIANTS:
            seconds = [run["seconds"] for run in runs[label]]
            last = runs[label][-1]
            records.append(
                Record(
                    name=config.name,
                    metric=f"build time, {label}",
                    value=min(seconds),
                    unit="s",
                    details={
                        "min": min(seconds),
                        "median": statistics.median(seconds),
                        "max": max(seconds),
                        "repeats": repeats,
                        "fields": config.fields,
                        "params": last["params"],
                        "escnn_version": last["escnn_version"],
                        "escnn_cache_files_before": [
                            run["escnn_cache_files"] for run in runs[label]
                        ],
                        "fresh_process": True,
                    },
                )
            )
        reference = records[-len(VARIANTS)].value
        cached = records[-1].value
        records.append(
            Record(
                name=config.name,
                metric="speed-up of the cache hit over escnn R2Conv",
                value=ratio(reference, cached),
                unit="ratio",
                details={"escnn R2Conv s": reference, "cache hit s": cached},
            )
        )
    return records
