"""The catalogue of claims the specs verify, as data (from ``shared/claims.md``).

Each claim has an id (kept in spec test names and markers), the family it belongs to, the
statement in one line, and the documented verdict:

- ``holds``: equal up to rounding error, over the whole valid domain;
- ``holds within a domain``: true inside a stated range and false outside it (the spec shows
  both sides);
- ``refuted``: false as written (the spec asserts the counterexample).

The ``verify claims`` report and the README's claims table are generated from this data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    HOLDS = "holds"
    WITHIN_DOMAIN = "holds within a domain"
    REFUTED = "refuted"


@dataclass(frozen=True)
class Claim:
    id: str
    family: str
    statement: str
    verdict: Verdict
    headline: bool = False


H, D, R = Verdict.HOLDS, Verdict.WITHIN_DOMAIN, Verdict.REFUTED
CE, BCE, KL, SM = "cross-entropy", "binary cross-entropy", "KL divergence and entropy", "softmax"
FL, SCE, REG = "focal loss", "symmetric cross-entropy", "regression"
OPT, AG, MISC = "regularization and optimizers", "autograd and training loop", "other losses"

CATALOGUE: tuple[Claim, ...] = (
    Claim(
        "CE-1",
        CE,
        "CrossEntropyLoss(x, y) equals NLLLoss(LogSoftmax(x), y), values and gradients",
        H,
        True,
    ),
    Claim(
        "CE-2",
        CE,
        "Softmax, then log, then NLL equals cross-entropy (until log(softmax) underflows)",
        D,
    ),
    Claim(
        "CE-3", CE, "A NumPy cross-entropy that subtracts the row max matches PyTorch (0.5239)", H
    ),
    Claim(
        "CE-4",
        CE,
        "CE = NLL(LogSoftmax) = KLDiv(LogSoftmax, one-hot, batchmean) on the example (0.5493)",
        H,
    ),
    Claim(
        "CE-5",
        CE,
        "CrossEntropyLoss contains the softmax: CE(softmax(x), y) is a different function",
        H,
    ),
    Claim(
        "CE-6",
        CE,
        "Label smoothing equals (1−ε)·CE + ε·mean_c(−log p_c) and CE with smoothed soft targets",
        D,
    ),
    Claim(
        "CE-7", CE, "The class-weighted mean divides by the summed weight of the target classes", H
    ),
    Claim("CE-8", CE, "ignore_index positions add nothing to sum, mean denominator or gradient", H),
    Claim(
        "CE-9", CE, "Probability targets: CE(x, q) = −Σ_c q_c log softmax(x)_c, averaged over N", H
    ),
    Claim(
        "BCE-1",
        BCE,
        "BCELoss = −mean[y log p + (1−y) log(1−p)], weight per element, logs clamped at −100",
        H,
    ),
    Claim(
        "BCE-2",
        BCE,
        "BCEWithLogitsLoss(x, y) equals BCELoss(sigmoid(x), y) (for moderate logits)",
        D,
    ),
    Claim("BCE-3", BCE, "pos_weight multiplies the positive term only, broadcast per class", H),
    Claim(
        "BCE-4",
        BCE,
        "A hand-written BCE with eps = 1e-9 approximates BCEWithLogitsLoss (moderate logits)",
        D,
    ),
    Claim(
        "BCE-5", BCE, "BCELoss(sigmoid(x), y) = BCEWithLogitsLoss(x, y) on the example (0.0184)", H
    ),
    Claim("BCE-6", BCE, "Every loss's class form equals its functional form", H),
    Claim(
        "BCE-7",
        BCE,
        "BCE equals CE for two classes, values and gradients, also with soft targets",
        H,
        True,
    ),
    Claim("BCE-8", BCE, "BCE tends to 0 both as p→0 and as p→1", R),
    Claim("BCE-9", BCE, "binary_cross_entropy_with_logits takes sigmoid-processed outputs", R),
    Claim("KL-1", KL, "KL(P‖Q) = CE(P, Q) − H(P)", H),
    Claim(
        "KL-2",
        KL,
        "KLDivLoss(log_softmax(x), onehot(y), 'batchmean') equals CE(x, y); 'mean' does not",
        H,
        True,
    ),
    Claim("KL-3", KL, "KL is asymmetric, non-negative, and zero only when P = Q", H),
    Claim(
        "KL-4",
        KL,
        "With soft labels KL = CE − H(target): same logit gradients, minimum 0 vs H(target)",
        H,
    ),
    Claim(
        "KL-5",
        KL,
        "log_target=True on log t equals log_target=False on t (for t > 0; NaN where t = 0)",
        D,
    ),
    Claim("ENT-1", KL, "Entropy is 0 for one-hot and maximal (log K) for uniform", H),
    Claim(
        "SM-1",
        SM,
        "Softmax outputs lie in (0, 1) (for moderate logit gaps) and sum to 1; "
        "softmax([1, 2, 3]) = [0.0900, 0.2447, 0.6652]",
        D,
    ),
    Claim(
        "SM-2",
        SM,
        "Softmax is shift invariant; naive exp/Σexp gives NaN for [100, 0] in float32",
        H,
    ),
    Claim(
        "FL-1",
        FL,
        "Focal loss −α_t(1−p_t)^γ log p_t; γ = 0, α_t = 1 is BCE; γ = 0 is α-weighted BCE",
        H,
    ),
    Claim("FL-2", FL, "Focal loss never exceeds α_t-weighted BCE and FL/BCE → 0 as p_t → 1", H),
    Claim(
        "FL-3",
        FL,
        "Example (α = 0.75, γ = 2): easy 0.0005 vs BCE 0.1054, hard 0.0866 vs BCE 0.6931",
        H,
    ),
    Claim(
        "FL-4",
        FL,
        "The focal loss wrapping BCEWithLogitsLoss equals sigmoid_focal_loss (0.0890)",
        H,
    ),
    Claim(
        "FL-5",
        FL,
        "A logsigmoid focal loss equals the sigmoid form (α off) and stays finite for large |x|",
        H,
    ),
    Claim(
        "FL-6",
        FL,
        "Softmax focal loss = mean(−(1−p_t)^γ log p_t), CE at γ = 0, honours ignore_index",
        H,
    ),
    Claim(
        "FL-7",
        FL,
        "p_t = exp(−BCEWithLogits) equals the explicit p_t for hard labels without pos_weight",
        D,
    ),
    Claim(
        "SCE-1", SCE, "Binary rce/ce ratios: 8.2502 (y = 1, p = 0.8) and 4.5786 (y = 0, p = 0.8)", H
    ),
    Claim("SCE-2", SCE, "Multi-class RCE = 9.2103·(1 − p_y); SCE with b = 0 is CE", H),
    Claim("REG-1", REG, "L1Loss = mean|x − y|, MSELoss = mean (x − y)², three reductions", H),
    Claim(
        "REG-2",
        REG,
        "SmoothL1(β) is 0.5d²/β inside |d| < β, C¹ at β, → L1 as β → 0; Huber(δ) = δ·SmoothL1(δ)",
        H,
    ),
    Claim(
        "REG-3", REG, "SmoothL1's gradient is bounded by 1; MSE's grows linearly with the error", H
    ),
    Claim(
        "WD-1",
        OPT,
        "SGD(weight_decay=λ) follows the trajectory of SGD on loss + (λ/2)‖w‖²",
        H,
        True,
    ),
    Claim("WD-2", OPT, "Adam(weight_decay=λ) equals Adam on loss + (λ/2)‖w‖² (coupled L2)", H),
    Claim("WD-3", OPT, "weight_decay is the same as L2 regularization, also for AdamW", R),
    Claim(
        "WD-4",
        OPT,
        "A weight_decay=0 group is not decayed; penalty (α/2)Σw² on weights = weight_decay=α",
        H,
    ),
    Claim(
        "WD-5", OPT, "An L1 penalty makes weights exactly sparse under plain (sub)gradient SGD", R
    ),
    Claim("OBJ-1", OPT, "The gradient of loss + regularization is the sum of the gradients", H),
    Claim("AG-1", AG, "backward() accumulates into .grad: two passes give twice the gradient", H),
    Claim("AG-2", AG, "backward() does not change parameters; only optimizer.step() does", H),
    Claim("AG-3", AG, "optimizer.zero_grad() clears gradients (sets them to None by default)", H),
    Claim(
        "AG-4",
        AG,
        "k equal micro-batches with loss/k give the full-batch gradient (not for unequal counts)",
        D,
    ),
    Claim(
        "MISC-1", MISC, "AdaptiveLogSoftmaxWithLoss .loss = NLL of its log_prob, rows normalized", H
    ),
    Claim(
        "MISC-2",
        MISC,
        "Losses take (input, target); swapping them changes asymmetric losses such as BCE",
        H,
    ),
)

BY_ID: dict[str, Claim] = {claim.id: claim for claim in CATALOGUE}


def markdown_table() -> str:
    """The README's claims table: id, claim, documented verdict."""
    lines = ["| id | claim | verdict |", "| --- | --- | --- |"]
    for claim in CATALOGUE:
        star = " **(headline)**" if claim.headline else ""
        lines.append(f"| {claim.id} | {claim.statement}{star} | {claim.verdict.value} |")
    return "\n".join(lines) + "\n"


README_MARKERS = ("<!-- claims-table:start -->\n", "<!-- claims-table:end -->")


def readme_with_table(readme: str) -> str:
    """``readme`` with the text between its claims-table markers replaced by the table."""
    start, end = README_MARKERS
    if start not in readme or end not in readme:
        raise ValueError("README has no claims-table markers")
    head, rest = readme.split(start, 1)
    return head + start + markdown_table() + end + rest.split(end, 1)[1]


if __name__ == "__main__":
    import sys
    from pathlib import Path

    if sys.argv[1:2] == ["--update"]:
        for name in sys.argv[2:] or ["README.md"]:
            path = Path(name)
            path.write_text(readme_with_table(path.read_text()))
    else:
        print(markdown_table(), end="")
