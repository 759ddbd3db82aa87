"""Hand-written entropy implementations (ENT-1) with switchable realistic bugs; with no
switch on each computes the right thing (``tests/test_planted_entropy.py``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def manual_entropy(*, base2: bool = False, no_xlogy: bool = False, uniform_cross_entropy=False):
    """H(p) = −Σ xlogy(p, p) along dim 1. Bugs: ``base2`` measures in bits (log2);
    ``no_xlogy`` writes p·log p (NaN at p = 0); ``uniform_cross_entropy`` returns
    −mean_c log p_c, the cross-entropy against the uniform distribution, as an "entropy"."""

    def entropy(p):
        if uniform_cross_entropy:
            return -torch.log(p).mean(dim=1)
        terms = p * torch.log(p) if no_xlogy else torch.special.xlogy(p, p)
        h = -terms.sum(dim=1)
        return h / np.log(2.0) if base2 else h

    return entropy


def manual_logit_entropy(*, log_of_softmax: bool = False):
    """H(softmax(z)) = −Σ softmax·log_softmax. Bug ``log_of_softmax``: log(softmax(z)), which
    is −inf where softmax underflows, and 0·(−inf) = NaN."""

    def entropy(z):
        p = F.softmax(z, dim=1)
        log_p = torch.log(p) if log_of_softmax else F.log_softmax(z, dim=1)
        return -(p * log_p).sum(dim=1)

    return entropy
