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


# One claim a line under its family's name: id, verdict (H holds, D holds within a domain,
# R refuted; * a headline claim of the README) and the statement.
_TABLE = """
cross-entropy
    CE-1   H* CrossEntropyLoss(x, y) equals NLLLoss(LogSoftmax(x), y), values and gradients
    CE-2   D  Softmax, then log, then NLL equals cross-entropy (until log(softmax) underflows)
    CE-3   H  A NumPy cross-entropy that subtracts the row max matches PyTorch (0.5239)
    CE-4   H  CE = NLL(LogSoftmax) = KLDiv(LogSoftmax, one-hot, batchmean) on the example (0.5493)
    CE-5   H  CrossEntropyLoss contains the softmax: CE(softmax(x), y) is a different function
    CE-6   D  Label smoothing equals (1−ε)·CE + ε·mean_c(−log p_c) and CE with smoothed soft targets
    CE-7   H  The class-weighted mean divides by the summed weight of the target classes
    CE-8   H  ignore_index positions add nothing to sum, mean denominator or gradient
    CE-9   H  Probability targets: CE(x, q) = −Σ_c q_c log softmax(x)_c, averaged over N
binary cross-entropy
    BCE-1  H  BCELoss = −mean[y log p + (1−y) log(1−p)], weight per element, logs clamped at −100
    BCE-2  D  BCEWithLogitsLoss(x, y) equals BCELoss(sigmoid(x), y) (for moderate logits)
    BCE-3  H  pos_weight multiplies the positive term only, broadcast per class
    BCE-4  D  A hand-written BCE with eps = 1e-9 approximates BCEWithLogitsLoss (moderate logits)
    BCE-5  H  BCELoss(sigmoid(x), y) = BCEWithLogitsLoss(x, y) on the example (0.0184)
    BCE-6  H  Every loss's class form equals its functional form
    BCE-7  H* BCE equals CE for two classes, values and gradients, also with soft targets
    BCE-8  R  BCE tends to 0 both as p→0 and as p→1
    BCE-9  R  binary_cross_entropy_with_logits takes sigmoid-processed outputs
KL divergence and entropy
    KL-1   H  KL(P‖Q) = CE(P, Q) − H(P)
    KL-2   H* KLDivLoss(log_softmax(x), onehot(y), 'batchmean') equals CE(x, y); 'mean' does not
    KL-3   H  KL is asymmetric, non-negative, and zero only when P = Q
    KL-4   H  With soft labels KL = CE − H(target): same logit gradients, minimum 0 vs H(target)
    KL-5   D  log_target=True on log t equals log_target=False on t (for t > 0; NaN where t = 0)
    ENT-1  H  Entropy is 0 for one-hot and maximal (log K) for uniform
softmax
    SM-1   D  Softmax outputs lie in (0, 1) (for moderate logit gaps) and sum to 1; softmax([1, 2, 3]) = [0.0900, 0.2447, 0.6652]
    SM-2   H  Softmax is shift invariant; naive exp/Σexp gives NaN for [100, 0] in float32
focal loss
    FL-1   H  Focal loss −α_t(1−p_t)^γ log p_t; γ = 0, α_t = 1 is BCE; γ = 0 is α-weighted BCE
    FL-2   H  Focal loss never exceeds α_t-weighted BCE and FL/BCE → 0 as p_t → 1
    FL-3   H  Example (α = 0.75, γ = 2): easy 0.0005 vs BCE 0.1054, hard 0.0866 vs BCE 0.6931
    FL-4   H  The focal loss wrapping BCEWithLogitsLoss equals sigmoid_focal_loss (0.0890)
    FL-5   H  A logsigmoid focal loss equals the sigmoid form (α off) and stays finite for large |x|
    FL-6   H  Softmax focal loss = mean(−(1−p_t)^γ log p_t), CE at γ = 0, honours ignore_index
    FL-7   D  p_t = exp(−BCEWithLogits) equals the explicit p_t for hard labels without pos_weight
symmetric cross-entropy
    SCE-1  H  Binary rce/ce ratios: 8.2502 (y = 1, p = 0.8) and 4.5786 (y = 0, p = 0.8)
    SCE-2  H  Multi-class RCE = 9.2103·(1 − p_y); SCE with b = 0 is CE
regression
    REG-1  H  L1Loss = mean|x − y|, MSELoss = mean (x − y)², three reductions
    REG-2  H  SmoothL1(β) is 0.5d²/β inside |d| < β, C¹ at β, → L1 as β → 0; Huber(δ) = δ·SmoothL1(δ)
    REG-3  H  SmoothL1's gradient is bounded by 1; MSE's grows linearly with the error
regularization and optimizers
    WD-1   H* SGD(weight_decay=λ) follows the trajectory of SGD on loss + (λ/2)‖w‖²
    WD-2   H  Adam(weight_decay=λ) equals Adam on loss + (λ/2)‖w‖² (coupled L2)
    WD-3   R  weight_decay is the same as L2 regularization, also for AdamW
    WD-4   H  A weight_decay=0 group is not decayed; penalty (α/2)Σw² on weights = weight_decay=α
    WD-5   R  An L1 penalty makes weights exactly sparse under plain (sub)gradient SGD
    OBJ-1  H  The gradient of loss + regularization is the sum of the gradients
autograd and training loop
    AG-1   H  backward() accumulates into .grad: two passes give twice the gradient
    AG-2   H  backward() does not change parameters; only optimizer.step() does
    AG-3   H  optimizer.zero_grad() clears gradients (sets them to None by default)
    AG-4   D  k equal micro-batches with loss/k give the full-batch gradient (not for unequal counts)
other losses
    MISC-1 H  AdaptiveLogSoftmaxWithLoss .loss = NLL of its log_prob, rows normalized
    MISC-2 H  Losses take (input, target); swapping them changes asymmetric losses such as BCE
"""

_VERDICTS = {"H": Verdict.HOLDS, "D": Verdict.WITHIN_DOMAIN, "R": Verdict.REFUTED}


def _parse(table: str) -> tuple[Claim, ...]:
    """The claims of ``table``, in its order."""
    claims, family = [], ""
    for line in table.strip("\n").splitlines():
        if not line.startswith(" "):
            family = line
            continue
        claim_id, verdict, statement = line.split(maxsplit=2)
        headline = verdict.endswith("*")
        claims.append(Claim(claim_id, family, statement, _VERDICTS[verdict.rstrip("*")], headline))
    return tuple(claims)


CATALOGUE: tuple[Claim, ...] = _parse(_TABLE)

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
