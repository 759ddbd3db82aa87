"""Which checks a conformance run makes, as plain data the harness hands to a worker.

On every device and dtype:

- ``values[core]`` and ``values[<feature>]``: values and gradients against the oracle over
  hypothesis-drawn inputs, for the core case and each optional feature;
- ``edge[<name>]``: fixed edge cases (every target ignored, an empty batch under each
  reduction);
- ``non_contiguous``: the core case on non-contiguous inputs;
- ``gradcheck`` (float64 only): the gradient against finite differences of the
  implementation's own values.

Each check names the optional features it needs, so that a feature the implementation
declines makes exactly the checks that need it unsupported, and no other.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from verify.contracts import FeatureMatrix
from verify.devices import dtype_name


@dataclass(frozen=True)
class PlannedCheck:
    name: str
    kind: str  # 'values', 'edge', 'non_contiguous' or 'gradcheck'
    device: str
    dtype: str
    features: tuple[str, ...] = ()  # the optional features the check needs
    reduction: str | None = None  # for 'values': the reduction its cases use
    edge: str | None = None  # for 'edge': the edge's name

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)


def _values(matrix: FeatureMatrix, where: str, device: str, dtype: str) -> list[PlannedCheck]:
    checks = [
        PlannedCheck(f"values[core]{where}", "values", device, dtype, (), matrix.core_reduction)
    ]
    for feature in matrix.features:
        reduction = (
            feature.name.split("=")[1]
            if feature.name.startswith("reduction=")
            else matrix.core_reduction
        )
        checks.append(
            PlannedCheck(
                f"values[{feature.name}]{where}",
                "values",
                device,
                dtype,
                (feature.name,),
                reduction,
            )
        )
    return checks


def plan(matrix: FeatureMatrix, device: str, dtype: torch.dtype) -> list[PlannedCheck]:
    """Every check of ``matrix`` on one device and dtype, in the order they run."""
    name = dtype_name(dtype)
    where = f"@{device}/{name}"
    checks = _values(matrix, where, device, name)
    checks += [
        PlannedCheck(f"edge[{e.name}]{where}", "edge", device, name, e.features, edge=e.name)
        for e in matrix.edges()
    ]
    checks.append(PlannedCheck(f"non_contiguous{where}", "non_contiguous", device, name))
    if dtype == torch.float64:
        checks.append(PlannedCheck(f"gradcheck{where}", "gradcheck", device, name))
    return checks
