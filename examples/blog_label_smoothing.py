"""Label-smoothing cross-entropy as many blog posts write it: the target gets 1 − ε and the
ε is spread over the C − 1 *other* classes. PyTorch spreads ε over all C classes."""

import torch


def cross_entropy(input, target, label_smoothing=0.0, reduction="mean"):
    if target.is_floating_point() or input.dim() != 2:
        raise NotImplementedError("class indices on (N, C) only")
    n_classes = input.shape[1]
    log_p = torch.log_softmax(input, dim=1)
    smooth = torch.full_like(log_p, label_smoothing / (n_classes - 1))
    smooth.scatter_(1, target.unsqueeze(1), 1.0 - label_smoothing)
    losses = -(smooth * log_p).sum(dim=1)
    return {"none": losses, "sum": losses.sum(), "mean": losses.mean()}[reduction]
