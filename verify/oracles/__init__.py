"""Float64 reference implementations ("oracles") of the losses the specs verify.

Every oracle is written from the loss's mathematical definition with NumPy and SciPy only:
nothing here imports torch, so a reference can never inherit a bug from the code under test.
Each loss comes with its vector-Jacobian product (``*_vjp``): the analytic gradient of
``sum(cotangent * loss)`` with respect to the loss's first argument, which the specs compare
with autograd.

Array conventions follow PyTorch: class scores are ``(N, C)`` or ``(N, C, d1, ..., dk)`` with
the class axis at position 1, and class-index targets are integer arrays of shape
``(N, d1, ..., dk)``.

What the package exports:

- by name, the oracles of the losses ``torch.nn.functional`` defines (``cross_entropy``,
  ``nll_loss``, ``binary_cross_entropy[_with_logits]``, ``kl_div``, ``softmax``,
  ``log_softmax``, with their ``*_vjp`` and gradient bounds), and the optimizer trajectories
  of ``optim`` (``sgd_trajectory``, ``adam_trajectory``, ``adamw_trajectory``);
- as modules, the loss families whose names only make sense next to their module:
  ``focal`` (sigmoid, probability and softmax focal losses), ``regression`` (L1, MSE,
  SmoothL1, Huber), ``entropy`` (H and the cross-entropy between two distributions, which
  is not ``cross_entropy`` above), ``symmetric`` (reverse and symmetric cross-entropy) and
  ``epsilon_bce`` (the tutorials' ε-BCE). Use them as ``oracles.focal.sigmoid_focal_loss``
  or ``from verify.oracles import focal``.

``reduction`` (``reduce``, ``expand_cotangent``) and ``divergence.KL_REDUCTIONS`` are
imported from their modules.
"""

from verify.oracles import entropy, epsilon_bce, focal, regression, symmetric
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
from verify.oracles.optim import adam_trajectory, adamw_trajectory, sgd_trajectory
from verify.oracles.softmax import log_softmax, log_softmax_vjp, softmax, softmax_vjp

__all__ = [
    "adam_trajectory",
    "adamw_trajectory",
    "binary_cross_entropy",
    "binary_cross_entropy_vjp",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_gradient_bound",
    "binary_cross_entropy_with_logits_vjp",
    "cross_entropy",
    "cross_entropy_gradient_bound",
    "cross_entropy_vjp",
    "entropy",
    "epsilon_bce",
    "focal",
    "kl_div",
    "kl_div_vjp",
    "log_softmax",
    "log_softmax_vjp",
    "nll_loss",
    "nll_loss_vjp",
    "regression",
    "sgd_trajectory",
    "softmax",
    "softmax_vjp",
    "symmetric",
]
