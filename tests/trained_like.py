"""A test helper shared by the inference and memory tests: a model that looks trained."""

import torch
from torch import nn

from mnv2lab.models import build_model


def trained_like(name: str, seed: int = 0, **kwargs) -> nn.Module:
    """A model whose BN layers hold non-trivial statistics and affine parameters (a freshly
    initialised BN is the identity, which would make folding or slicing look exact for free),
    with a classifier large enough that logit differences are not hidden by its tiny init."""
    torch.manual_seed(seed)
    model = build_model(name, num_classes=10, **kwargs)
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.2)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.2)
    return model.eval()
