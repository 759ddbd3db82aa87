"""Every adapter with its contract, the library it wraps and the tox environment it runs in.

Plain data: importing it needs none of the libraries (``verify.adapters.table`` reads it to
name implementations and versions in THIRD_PARTY.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Adapter:
    name: str  # <module>.<function> under verify/adapters/, and the report's file name
    contract: str
    api: str  # what the library calls it
    distribution: str  # the package whose version the verdict is about
    check_args: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        module, function = self.name.split(".")
        return f"verify.adapters.{module}:{function}"


# Liger computes in float32 by design and bf16 is wrong in Triton's interpreter: it is checked
# in float32 and float16 (see verify/adapters/liger.py).
_LIGER_DTYPES = ("--dtype", "float32", "--dtype", "float16")

ADAPTERS: dict[str, tuple[Adapter, ...]] = {
    "thirdparty": (
        Adapter(
            "torchvision.sigmoid_focal_loss",
            "sigmoid_focal_loss",
            "torchvision.ops.sigmoid_focal_loss",
            "torchvision",
        ),
        Adapter(
            "kornia.binary_focal_loss_with_logits",
            "sigmoid_focal_loss",
            "kornia.losses.binary_focal_loss_with_logits",
            "kornia",
        ),
        Adapter("kornia.focal_loss", "softmax_focal_loss", "kornia.losses.focal_loss", "kornia"),
        Adapter(
            "monai.sigmoid_focal_loss",
            "sigmoid_focal_loss",
            "monai.losses.FocalLoss(use_softmax=False)",
            "monai",
        ),
        Adapter(
            "monai.softmax_focal_loss",
            "softmax_focal_loss",
            "monai.losses.FocalLoss(use_softmax=True)",
            "monai",
        ),
        Adapter(
            "timm.label_smoothing_cross_entropy",
            "cross_entropy",
            "timm.loss.LabelSmoothingCrossEntropy",
            "timm",
        ),
        Adapter(
            "timm.soft_target_cross_entropy",
            "cross_entropy",
            "timm.loss.SoftTargetCrossEntropy",
            "timm",
        ),
        Adapter(
            "timm.binary_cross_entropy",
            "binary_cross_entropy_with_logits",
            "timm.loss.BinaryCrossEntropy",
            "timm",
        ),
        Adapter(
            "smp.focal_loss",
            "sigmoid_focal_loss",
            "segmentation_models_pytorch.losses.FocalLoss(mode='binary')",
            "segmentation-models-pytorch",
        ),
        Adapter(
            "smp.soft_bce_with_logits_loss",
            "binary_cross_entropy_with_logits",
            "segmentation_models_pytorch.losses.SoftBCEWithLogitsLoss",
            "segmentation-models-pytorch",
        ),
        Adapter(
            "smp.soft_cross_entropy_loss",
            "cross_entropy",
            "segmentation_models_pytorch.losses.SoftCrossEntropyLoss",
            "segmentation-models-pytorch",
        ),
    ),
    "liger": (
        Adapter(
            "liger.cross_entropy",
            "cross_entropy",
            "liger_kernel.transformers.LigerCrossEntropyLoss",
            "liger-kernel",
            _LIGER_DTYPES,
        ),
        Adapter(
            "liger.fused_linear_cross_entropy",
            "cross_entropy",
            "liger_kernel.transformers.LigerFusedLinearCrossEntropyLoss",
            "liger-kernel",
            _LIGER_DTYPES,
        ),
    ),
    "optax": (
        Adapter(
            "optax.softmax_cross_entropy_with_integer_labels",
            "cross_entropy",
            "optax.losses.softmax_cross_entropy_with_integer_labels",
            "optax",
        ),
        Adapter(
            "optax.sigmoid_binary_cross_entropy",
            "binary_cross_entropy_with_logits",
            "optax.losses.sigmoid_binary_cross_entropy",
            "optax",
        ),
        Adapter(
            "optax.sigmoid_focal_loss",
            "sigmoid_focal_loss",
            "optax.losses.sigmoid_focal_loss",
            "optax",
        ),
        Adapter("optax.kl_divergence", "kl_div", "optax.losses.kl_divergence", "optax"),
    ),
}

# The distributions whose versions each environment's reports depend on.
LIBRARIES: dict[str, tuple[str, ...]] = {
    "thirdparty": ("torchvision", "kornia", "monai", "timm", "segmentation-models-pytorch"),
    "liger": ("liger-kernel", "triton"),
    "optax": ("optax", "jax", "jaxlib"),
}


REPORTS = Path("thirdparty") / "reports"
