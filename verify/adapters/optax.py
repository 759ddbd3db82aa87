"""optax's losses (``optax.losses``), reached from torch through a torch ↔ JAX bridge.

``_JaxLoss`` is a ``torch.autograd.Function``: its forward converts the torch tensors to JAX
arrays and evaluates the loss with ``jax.vjp`` (the loss itself under ``jax.jit``, compiled
once per input shape, dtype and static option); its backward applies the VJP that JAX
returned to the incoming gradient and converts the result back. Nothing is computed in torch.

JAX silently computes float64 inputs in float32 unless ``jax_enable_x64`` is on; this module
turns it on, so float64 is checked in float64. optax's losses return one value per element
(binary) or per example (categorical) and leave the reduction to the caller, whose idiom is
``jnp.mean`` or ``jnp.sum`` of that: the adapters apply it inside the jitted JAX function, so
its gradient is JAX's too. Where optax's unreduced shape is not the contract's ('none' of
``kl_div`` is pointwise, optax's is per example), that reduction is declined.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import torch

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402  (after x64 is on)
import optax  # noqa: E402

from verify.adapters import decline  # noqa: E402
from verify.adapters.signatures import FocalParams, sigmoid_focal  # noqa: E402


def _to_jax(tensor: torch.Tensor) -> jax.Array:
    return jnp.asarray(tensor.detach().cpu().numpy())


def _to_torch(array: jax.Array, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.array(array)).to(like.device)


class _JaxLoss(torch.autograd.Function):
    """loss(input, *rest) computed by a JAX function; the input's gradient from ``jax.vjp``."""

    @staticmethod
    def forward(ctx: Any, fn: Callable[..., jax.Array], input: torch.Tensor, *rest: Any) -> Any:
        arrays = [_to_jax(t) if torch.is_tensor(t) else t for t in rest]
        value, pullback = jax.vjp(lambda x: fn(x, *arrays), _to_jax(input))
        ctx.pullback, ctx.like, ctx.count = pullback, input, len(rest)
        return _to_torch(value, input)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        (input_grad,) = ctx.pullback(_to_jax(grad.to(ctx.like.dtype)))
        return (None, _to_torch(input_grad, ctx.like), *([None] * ctx.count))


REDUCE = {"none": lambda loss: loss, "mean": jnp.mean, "sum": jnp.sum}


def _reduction(reduction: str, allowed: tuple[str, ...]) -> str:
    if reduction not in allowed:
        raise TypeError(
            f"optax has no reduction={reduction!r}: unexpected keyword argument 'reduction'"
        )
    return reduction


@functools.cache
def _cross_entropy(reduction: str, axis: int) -> Callable[..., jax.Array]:
    def loss(x: jax.Array, y: jax.Array) -> jax.Array:
        per = optax.losses.softmax_cross_entropy_with_integer_labels(x, y, axis=axis)
        return REDUCE[reduction](per)

    return jax.jit(loss)


def softmax_cross_entropy_with_integer_labels(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """``cross_entropy`` contract: the per-example loss along the class axis (``axis=1``),
    then ``jnp.mean``/``jnp.sum``. optax has no class weights, ignore index or smoothing."""
    if target.is_floating_point():
        raise decline("optax softmax_cross_entropy_with_integer_labels", "probability targets")
    return _JaxLoss.apply(_cross_entropy(reduction, 1), input, target)


@functools.cache
def _binary(reduction: str) -> Callable[..., jax.Array]:
    def loss(x: jax.Array, y: jax.Array) -> jax.Array:
        return REDUCE[reduction](optax.losses.sigmoid_binary_cross_entropy(x, y))

    return jax.jit(loss)


def sigmoid_binary_cross_entropy(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """``binary_cross_entropy_with_logits`` contract: optax's elementwise loss, reduced."""
    return _JaxLoss.apply(_binary(reduction), input, target)


@functools.cache
def _focal(reduction: str, with_alpha: bool) -> Callable[..., jax.Array]:
    def loss(x: jax.Array, y: jax.Array, alpha: jax.Array, gamma: jax.Array) -> jax.Array:
        per = optax.losses.sigmoid_focal_loss(
            x, y, alpha=alpha if with_alpha else None, gamma=gamma
        )
        return REDUCE[reduction](per)

    return jax.jit(loss)


@sigmoid_focal
def sigmoid_focal_loss(input: torch.Tensor, target: torch.Tensor, p: FocalParams) -> torch.Tensor:
    """``sigmoid_focal_loss`` contract: optax's elementwise focal loss (α < 0 is optax's
    ``alpha=None``; α and γ passed as arrays so that a new value does not recompile)."""
    dtype = input.dtype
    return _JaxLoss.apply(
        _focal(p.reduction, p.alpha >= 0),
        input,
        target,
        torch.tensor(max(p.alpha, 0.0), dtype=dtype),
        torch.tensor(p.gamma, dtype=dtype),
    )


@functools.cache
def _kl(reduction: str, log_target: bool) -> Callable[..., jax.Array]:
    divergence = (
        optax.losses.kl_divergence_with_log_targets if log_target else optax.losses.kl_divergence
    )

    def loss(x: jax.Array, t: jax.Array) -> jax.Array:
        per_example = divergence(x, t, axis=1)
        if reduction == "mean":  # over every element, as the contract's 'mean'
            return jnp.sum(per_example) / x.size
        return jnp.mean(per_example) if reduction == "batchmean" else jnp.sum(per_example)

    return jax.jit(loss)


def kl_divergence(
    input: torch.Tensor,
    target: torch.Tensor,
    reduction: str = "mean",
    log_target: bool = False,
) -> torch.Tensor:
    """``kl_div`` contract: ``kl_divergence(log_predictions, targets)`` (or
    ``kl_divergence_with_log_targets``) per example along the class axis; 'batchmean' is
    their mean, 'sum' their sum and 'mean' their sum over the number of elements. 'none' is
    declined: optax's unreduced loss is per example, the contract's pointwise."""
    reduction = _reduction(reduction, ("mean", "sum", "batchmean"))
    return _JaxLoss.apply(_kl(reduction, log_target), input, target)
