"""Third-party losses under the project's calling convention, for ``verify check``.

One module per library (``torchvision``, ``kornia``, ``monai``, ``timm``, ``smp``, ``liger``,
``optax``); each adapter is ``fn(input, target, **params) -> Tensor`` for one contract of
``verify contracts``. An adapter only translates: the contract's parameter names and
conventions onto the library's (α < 0 meaning "no α" becomes the library's ``None``, class
indices become the one-hot targets a soft-target loss takes). It never corrects a result, or
a verdict would blame or excuse the library for the adapter's doing.

What the library does not take is declined, so that ``verify check`` reports it *unsupported*
instead of a deviation: a parameter it has no counterpart for is absent from the adapter's
signature (Python raises "unexpected keyword argument 'X'"), an input kind outside what the
library documents raises ``NotImplementedError``. Where a library takes a contract's
parameters whole, ``verify.adapters.signatures`` gives the adapter the contract's signature. A
parameter *value* the library rejects (timm's ``smoothing < 1``) is passed on: the library's
answer is the finding.

Each module imports its library at the top; nothing in ``verify`` imports these modules, so
``import verify`` never needs them. ``verify.adapters.run`` lists every adapter with its
contract; ``verify.adapters.table`` renders the reports as ``THIRD_PARTY.md``.
"""

from __future__ import annotations

import torch


def decline(library: str, what: str) -> NotImplementedError:
    """The error an adapter raises for an input kind its library does not take."""
    return NotImplementedError(f"{library} does not take {what}")


def require_class_scores(library: str, input: torch.Tensor, target: torch.Tensor) -> None:
    """Decline anything but (N, C) scores with (N,) class indices."""
    if target.is_floating_point():
        raise decline(library, "class-probability targets (only class indices)")
    if input.dim() != 2:
        raise decline(library, f"{input.dim()}-dimensional scores (only (N, C))")


def focal_alpha(alpha: float) -> float | None:
    """The contract's α < 0 ("α disabled") as the libraries spell it: ``None``."""
    return None if alpha < 0 else alpha
