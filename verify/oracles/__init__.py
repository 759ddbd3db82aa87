"""Float64 reference implementations ("oracles") of the losses the specs verify.

Every oracle is written from the loss's mathematical definition with NumPy and SciPy only:
nothing here imports torch, so a reference can never inherit a bug from the code under test.
Each loss comes with its vector-Jacobian product (``*_vjp``): the analytic gradient of
``sum(cotangent * loss)`` with respect to the loss's first argument, which the specs compare
with autograd.

Array conventions follow PyTorch: class scores are ``(N, C)`` or ``(N, C, d1, ..., dk)`` with
the class axis at position 1, and class-index targets are integer arrays of shape
``(N, d1, ..., dk)``.
"""

from verify.oracles.binary import (
    binary_cross_entropy,
    binary_cross_entropy_vjp,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_gradient_bound,
    binary_cross_entropy_with_logits_vjp,
)
from verify.oracles.categorical import (
    cross_entropy,
    cross_entropy_gradient_bound,
    cross_entropy_vjp,
    nll_loss,
    nll_loss_vjp,
)
from verify.oracles.divergence import kl_div, kl_div_vjp
from verify.oracles.optim import sgd_trajectory
from verify.oracles.softmax import log_softmax, log_softmax_vjp, softmax, softmax_vjp

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_vjp",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_gradient_bound",
    "binary_cross_entropy_with_logits_vjp",
    "cross_entropy",
    "cross_entropy_gradient_bound",
    "cross_entropy_vjp",
    "kl_div",
    "kl_div_vjp",
    "log_softmax",
    "log_softmax_vjp",
    "nll_loss",
    "nll_loss_vjp",
    "sgd_trajectory",
    "softmax",
    "softmax_vjp",
]
