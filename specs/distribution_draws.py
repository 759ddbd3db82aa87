"""Hypothesis draws shared by the distribution specs (KL-*, ENT-*).

Strategies are built once per argument tuple and reused: hypothesis validates every new
strategy object on its first draw, which costs as much as the rest of an example.
"""

from __future__ import annotations

import functools

import pytest
import torch

from verify import strategies as vs

shapes = functools.cache(vs.shapes)
logits = functools.cache(vs.logits)
soft_targets = functools.cache(vs.soft_targets)
cotangents = functools.cache(vs.cotangents)
class_targets = functools.cache(vs.class_targets)
probabilities = functools.cache(vs.probabilities)

F64_F32 = pytest.mark.dtypes(torch.float64, torch.float32)


def batch_shape(data, *, max_n: int = 4, max_c: int = 6) -> tuple[int, ...]:
    return data.draw(shapes(min_n=1, max_n=max_n, max_c=max_c), label="shape")
