"""What a benchmark case is made of: workloads (shapes that mirror real use), input makers,
and the fewest bytes a case must move. Each contract's cases are in its module
(``verify.contracts.<name>``, ``benchmark_cases``); ``verify.benchmarking.cases`` collects them.

A ``Case`` is a loss (a contract name from ``verify.contracts``), a variant (parameters that
differ from the default) and a ``Workload`` (what the input stands for, with its shape on CUDA,
on the CPU, and in the smoke run that only checks the benchmark still runs).

The bandwidth bound: a loss call must read each input once and write its output once, and a
forward + backward call must also write the gradient of the input it differentiates (nll_loss
reads only the score of each target: ``Case.gathers``). Those bytes (``min_bytes``) over the
median time give the achieved bandwidth, which ``verify.benchmarking.machine.copy_bandwidth``
(a large device-to-device copy in the same run) turns into a fraction of what the device can
do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

SIZES: tuple[str, ...] = ("cuda", "cpu", "smoke")


@dataclass(frozen=True)
class Workload:
    """What the input stands for, and its shape per size ('cuda', 'cpu', 'smoke')."""

    name: str
    shapes: dict[str, tuple[int, ...]]

    def shape(self, size: str) -> tuple[int, ...]:
        return self.shapes[size]


def _same(shape: tuple[int, ...], smoke: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    return {"cuda": shape, "cpu": shape, "smoke": smoke}


IMAGE = Workload("image classification", _same((256, 1000), (4, 10)))
DETECTION = Workload("detection, multi-label", _same((4096, 80), (8, 5)))
SEGMENTATION = Workload("segmentation", _same((8, 21, 512, 512), (2, 3, 4, 4)))
LM_32K = Workload(
    "language-model head, 32 000 vocabulary",
    {"cuda": (8192, 32000), "cpu": (1024, 32000), "smoke": (4, 50)},
)
LM_128K = Workload(
    "language-model head, 128 256 vocabulary",
    {"cuda": (8192, 128256), "cpu": (256, 128256), "smoke": (2, 200)},
)
REGRESSION_SMALL = Workload("regression, 10^4 elements", _same((10_000,), (16,)))
REGRESSION = Workload("regression, 10^6 elements", _same((1_000_000,), (64,)))
REGRESSION_LARGE = Workload(
    "regression, 10^8 elements (CUDA; 10^7 on the CPU)",
    {"cuda": (100_000_000,), "cpu": (10_000_000,), "smoke": (128,)},
)


def _classes(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Class indices for scores of ``shape`` (N, C, *d): shape (N, *d), in [0, C)."""
    return torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=generator)


def _ignoring(classes: torch.Tensor, ignore_index: int, generator: torch.Generator) -> torch.Tensor:
    """``classes`` with about 10% of the positions set to ``ignore_index`` (padding, void)."""
    mask = torch.rand(classes.shape, generator=generator) < 0.1
    return classes.masked_fill(mask, ignore_index)


def scores_and_classes(ignore_index: int | None = None):
    def make(shape, dtype, generator):
        classes = _classes(shape, generator)
        if ignore_index is not None:
            classes = _ignoring(classes, ignore_index, generator)
        return (torch.randn(shape, generator=generator).to(dtype), classes)

    return make


def log_probabilities_and_classes(shape, dtype, generator):
    scores = torch.randn(shape, generator=generator)
    return (torch.log_softmax(scores, dim=1).to(dtype), _classes(shape, generator))


def scores(shape, dtype, generator):
    return (torch.randn(shape, generator=generator).to(dtype),)


def logits_and_binary_targets(shape, dtype, generator):
    targets = (torch.rand(shape, generator=generator) < 0.1).to(dtype)
    return (torch.randn(shape, generator=generator).to(dtype), targets)


def log_probabilities_and_probabilities(shape, dtype, generator):
    log_q = torch.log_softmax(torch.randn(shape, generator=generator), dim=-1)
    p = torch.softmax(torch.randn(shape, generator=generator), dim=-1)
    return (log_q.to(dtype), p.to(dtype))


def predictions_and_targets(shape, dtype, generator):
    return (
        torch.randn(shape, generator=generator).to(dtype),
        torch.randn(shape, generator=generator).to(dtype),
    )


def pos_weight(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """A weight per class (dimension 1 of ``shape``), broadcastable against the logits."""
    return torch.linspace(1.0, 4.0, shape[1]).reshape(shape[1], *[1] * (len(shape) - 2)).to(dtype)


@dataclass(frozen=True)
class Case:
    """One loss, variant and workload.

    ``make_inputs(shape, dtype, generator)`` returns the positional inputs, the first being the
    one differentiated; ``params`` are the keyword arguments (``param_factory`` adds the
    tensor-valued ones, built per shape and dtype).
    """

    loss: str
    workload: Workload
    make_inputs: Callable[[tuple[int, ...], torch.dtype, torch.Generator], tuple[torch.Tensor, ...]]
    variant: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    param_factory: Callable[[tuple[int, ...], torch.dtype], dict[str, torch.Tensor]] | None = None
    gathers: bool = False
    """The forward reads one score per target, not the whole first input (nll_loss picks
    ``input[i, y_i]``): ``min_bytes`` counts those alone."""

    @property
    def id(self) -> str:
        """The test id: loss, variant, workload: 'cross_entropy-label_smoothing0.1-lm32k'."""
        variant = self.variant.replace("=", "").replace(",", "_")
        return "-".join(p for p in (self.loss, variant, WORKLOAD_IDS[self.workload.name]) if p)

    def inputs(
        self, shape: tuple[int, ...], dtype: torch.dtype, device: str, seed: int = 0
    ) -> tuple[tuple[torch.Tensor, ...], dict[str, Any]]:
        """The inputs and keyword parameters on ``device`` (same values for every device)."""
        generator = torch.Generator().manual_seed(seed)
        tensors = tuple(t.to(device) for t in self.make_inputs(shape, dtype, generator))
        params = dict(self.params)
        if self.param_factory is not None:
            params.update({k: v.to(device) for k, v in self.param_factory(shape, dtype).items()})
        return tensors, params


def cases(
    loss: str,
    workloads: tuple[Workload, ...],
    make_inputs: Callable[
        [tuple[int, ...], torch.dtype, torch.Generator], tuple[torch.Tensor, ...]
    ],
    variant: str = "",
    params: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[Case, ...]:
    """``loss``'s case on each of ``workloads``, alike otherwise (``options``: ``Case``'s
    ``param_factory`` and ``gathers``)."""
    return tuple(
        Case(loss, workload, make_inputs, variant, dict(params or {}), **options)
        for workload in workloads
    )


def tensor_bytes(tensors: tuple[torch.Tensor, ...] | list[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def min_bytes(
    inputs: tuple[torch.Tensor, ...],
    params: dict[str, Any],
    output: torch.Tensor,
    mode: str,
    *,
    gathers: bool = False,
) -> int:
    """Inputs (and tensor parameters) read once, the output written once, and in
    forward + backward the gradient of the first input written once. With ``gathers`` the
    first input is read at one element per target (``inputs[1]``), not whole."""
    read = tensor_bytes(inputs) + tensor_bytes([v for v in params.values() if torch.is_tensor(v)])
    if gathers:
        read += (inputs[1].numel() - inputs[0].numel()) * inputs[0].element_size()
    written = output.numel() * output.element_size()
    if mode == "forward+backward":
        written += inputs[0].numel() * inputs[0].element_size()
    return read + written


WORKLOAD_IDS = {
    IMAGE.name: "image",
    DETECTION.name: "detection",
    SEGMENTATION.name: "segmentation",
    LM_32K.name: "lm32k",
    LM_128K.name: "lm128k",
    REGRESSION_SMALL.name: "reg1e4",
    REGRESSION.name: "reg1e6",
    REGRESSION_LARGE.name: "reg1e8",
}
