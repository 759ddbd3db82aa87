"""Hand-written weight decay implementations (WD-1 … WD-5) with switchable realistic bugs; with no
switch on each computes the right thing (``tests/test_planted_weight_decay.py``).
"""

from __future__ import annotations

import torch


def planted_sgd(*, decay_factor: float = 1.0, decoupled: bool = False):
    """An SGD optimizer class written from the documented algorithm, with one bug switchable.

    ``decay_factor=2`` adds 2λw (the gradient of λ‖w‖², forgetting the 1/2 convention);
    ``decoupled`` shrinks w by (1 − lr·λ) outside the momentum buffer (AdamW-style), which
    matches plain SGD but not momentum.
    """

    class PlantedSGD(torch.optim.Optimizer):
        def __init__(
            self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False
        ):
            defaults = {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
            }
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
                lam = group["weight_decay"]
                for w in group["params"]:
                    g = w.grad.clone()
                    if decoupled:
                        w.mul_(1 - lr * lam)
                    else:
                        g.add_(w, alpha=decay_factor * lam)
                    if mu:
                        state = self.state[w]
                        if "buffer" not in state:
                            state["buffer"] = g.clone()
                        else:
                            state["buffer"].mul_(mu).add_(g, alpha=1 - tau)
                        g = (
                            g.add(state["buffer"], alpha=mu)
                            if group["nesterov"]
                            else state["buffer"]
                        )
                    w.add_(g, alpha=-lr)

    return PlantedSGD


def planted_adam(*, decay="coupled", decay_times_lr=True):
    """Adam (amsgrad off) with weight decay ``decay``: 'coupled' (Adam's L2) or 'decoupled'.

    ``decay='decoupled'`` is AdamW: w ← w·(1 − lr·λ) before the Adam step; with
    ``decay_times_lr=False`` it shrinks by (1 − λ), the paper's schedule multiplier mistaken
    for lr·λ.
    """

    class PlantedAdam(torch.optim.Optimizer):
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
            defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
                lam = group["weight_decay"]
                for w in group["params"]:
                    state = self.state[w]
                    if not state:
                        state.update(t=0, m=torch.zeros_like(w), v=torch.zeros_like(w))
                    state["t"] += 1
                    t, g = state["t"], w.grad
                    if decay == "coupled":
                        g = g + lam * w
                    else:
                        w.mul_(1 - (lr * lam if decay_times_lr else lam))
                    state["m"].mul_(beta1).add_(g, alpha=1 - beta1)
                    state["v"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    m_hat = state["m"] / (1 - beta1**t)
                    v_hat = state["v"] / (1 - beta2**t)
                    w.sub_(lr * m_hat / (v_hat.sqrt() + eps))

    return PlantedAdam


def planted_group_sgd(*, group_blind=False, snap_to_zero=False, rebind=False):
    """SGD with momentum and per-group weight decay, written from the documented algorithm.

    Bugs: ``group_blind`` takes λ from the optimizer's defaults for every group (a bias
    group's weight_decay=0 is ignored); ``snap_to_zero`` sets a weight that crosses zero to
    exactly 0 (truncated gradient); ``rebind`` writes ``w = w − lr·g``, which rebinds the
    name and never updates the parameter.
    """

    class PlantedSGD(torch.optim.Optimizer):
        def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
            super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                lr, mu = group["lr"], group["momentum"]
                lam = self.defaults["weight_decay"] if group_blind else group["weight_decay"]
                for w in group["params"]:
                    g = w.grad + lam * w
                    if mu:
                        state = self.state[w]
                        state["b"] = g.clone() if "b" not in state else state["b"].mul_(mu).add_(g)
                        g = state["b"]
                    if rebind:
                        w = w - lr * g  # the planted bug: rebinds the loop variable
                        continue
                    before = w.clone()
                    w.sub_(lr * g)
                    if snap_to_zero:
                        w.masked_fill_(torch.sign(w) * torch.sign(before) < 0, 0.0)

    return PlantedSGD


class _L1(torch.autograd.Function):
    """Σ|w| with a hand-written backward; ``sign_at_zero`` is the subgradient it uses at 0."""

    @staticmethod
    def forward(ctx, w, sign_at_zero):
        ctx.save_for_backward(w)
        ctx.sign_at_zero = sign_at_zero
        return w.abs().sum()

    @staticmethod
    def backward(ctx, grad_output):
        (w,) = ctx.saved_tensors
        sign = torch.where(w == 0, torch.full_like(w, ctx.sign_at_zero), torch.sign(w))
        return grad_output * sign, None


def hand_written_l1(*, sign_at_zero=0.0):
    """Σ|w| whose backward is sign(w); bug ``sign_at_zero=1``: where(w >= 0, 1, −1)."""
    return lambda w: _L1.apply(w, sign_at_zero)


def soft_threshold(*, clamp=True):
    """sign(w)·max(|w| − t, 0); bug ``clamp=False``: w − t·sign(w), a subgradient step again."""

    def threshold(w, t):
        shrunk = w.abs() - t
        return torch.sign(w) * (shrunk.clamp(min=0.0) if clamp else shrunk)

    return threshold
