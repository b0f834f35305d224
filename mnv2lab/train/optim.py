"""Optimizers: SGD (torch's) and RMSProp as TensorFlow implements it, which the paper used.

The paper (Section 6.1) trains with TensorFlow's RMSPropOptimizer, decay 0.9 and momentum 0.9.
TensorFlow's RMSProp differs from ``torch.optim.RMSprop`` in three ways that matter early in
training: the mean square starts at 1 (torch: 0, so the first steps are ~3x lr on every weight),
epsilon is added inside the square root, and the learning rate multiplies the gradient before it
enters the momentum buffer. :class:`RMSpropTF` follows TensorFlow:

    ms  <- decay * ms + (1 - decay) * g^2            (ms starts at 1)
    mom <- momentum * mom + lr * g / sqrt(ms + eps)
    w   <- w - mom

Weight decay is added to the gradient (an L2 term in the loss, as TF-slim's regularizers do).
"""

from __future__ import annotations

from typing import Iterable

import torch


class RMSpropTF(torch.optim.Optimizer):
    """TensorFlow-style RMSProp (see the module docstring); ``alpha`` is TensorFlow's ``decay``."""

    def __init__(
        self,
        params: Iterable,
        lr: float,
        alpha: float = 0.9,
        eps: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
    ) -> None:
        for name, v, lo in (
            ("lr", lr, 0.0),
            ("eps", eps, 0.0),
            ("momentum", momentum, 0.0),
            ("weight_decay", weight_decay, 0.0),
        ):
            if v < lo:
                raise ValueError(f"{name}: got {v!r}; allowed: >= {lo}")
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha: got {alpha!r}; allowed: 0 <= alpha < 1")
        super().__init__(
            params, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay)
        )

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            if group["weight_decay"]:
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            for p in params:
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.ones_like(p, memory_format=torch.preserve_format)
                    state["momentum_buffer"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )
            square = [self.state[p]["square_avg"] for p in params]
            torch._foreach_mul_(square, group["alpha"])
            torch._foreach_addcmul_(square, grads, grads, value=1 - group["alpha"])
            denom = torch._foreach_add(square, group["eps"])
            torch._foreach_sqrt_(denom)
            if group["momentum"] > 0:
                bufs = [self.state[p]["momentum_buffer"] for p in params]
                torch._foreach_mul_(bufs, group["momentum"])
                torch._foreach_addcdiv_(bufs, grads, denom, value=group["lr"])
                torch._foreach_sub_(params, bufs)
            else:
                torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])
        return loss


def make_optimizer(config, model: torch.nn.Module) -> torch.optim.Optimizer:
    """SGD or RMSProp (TensorFlow-style); weight decay on conv/linear weights only, not on BN
    scales/shifts or biases (as the TF-slim reference training regularizes only weights)."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov, foreach=True
        )
    return RMSpropTF(
        groups,
        lr=config.lr,
        alpha=config.rmsprop_alpha,
        eps=config.rmsprop_eps,
        momentum=config.momentum,
    )
