"""``verify check``, ``assert_conforms``, ``--impl``: the conformance engine on real and planted
implementations (the examples in ``examples/`` and small ones defined here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from verify import assert_conforms, check, check_report, cli, conformance
from verify.contracts import CONTRACTS
from verify.loading import load_target
from verify.stand_ins import torchvision_sigmoid_focal_loss

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"
# The ci profile is derandomized: every run draws the same examples, so these tests are stable.
# In this process: isolation has its own tests (tests/test_isolation.py).
FAST = {"profile": "ci", "dtypes": (torch.float64,), "claims": False, "isolate": False}


def example(name: str) -> str:
    return f"{EXAMPLES / name}"


# An nn.Module class under test is instantiated with the case's parameters: shown on two
# contracts (tensor, integer and float parameters; a bool one). That each of torch's module forms
# equals its functional form, which specs/test_conformance.py checks, is BCE-6.
@pytest.mark.parametrize("contract", ["cross_entropy", "kl_div"])
def test_torch_module_forms_conform(contract):
    module_form = CONTRACTS[contract].implementation("module")
    report = check(module_form, contract, **FAST)
    assert report.verdict == "conforms", check_report.render_text(report)


@pytest.mark.parametrize(
    ("target", "contract", "verdict", "diagnosis"),
    [
        (
            "stable_cross_entropy.py:cross_entropy",
            "cross_entropy",
            "conforms on the features it supports",
            None,
        ),
        (
            "blog_label_smoothing.py:cross_entropy",
            "cross_entropy",
            "deviates",
            "label smoothing spread over the C−1 other classes",
        ),
        (
            "clamped_bce.py:binary_cross_entropy",
            "binary_cross_entropy",
            "deviates",
            "clamped to [eps, 1−eps] with eps ≈ 1e-07",
        ),
        ("kl_batchmean.py:kl_div", "kl_div", "deviates", "'batchmean' computed as 'mean'"),
        ("naive_cross_entropy.py:cross_entropy", "cross_entropy", "deviates", None),
    ],
    ids=lambda v: (
        v if isinstance(v, str) and v.endswith(("py:cross_entropy", "div", "entropy")) else None
    ),
)
def test_examples_get_their_verdict_and_diagnosis(target, contract, verdict, diagnosis):
    report = check(load_target(example(target)), contract, **FAST)
    assert report.verdict == verdict, check_report.render_text(report)
    if diagnosis:
        assert any(diagnosis in line for line in report.diagnosis), report.diagnosis
    failures = [c for c in report.checks if c.status == "failed"]
    for failure in failures:
        assert failure.counterexample is not None or "caller's" in failure.message


def alpha_on_negatives(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    swapped = 1 - alpha if alpha >= 0 else alpha
    return torchvision_sigmoid_focal_loss(inputs, targets, swapped, gamma, reduction)


def smooth_l1_without_inverse_beta(input, target, reduction="mean", beta=1.0):
    d = input - target
    losses = torch.where(d.abs() < beta, 0.5 * d * d, d.abs() - 0.5 * beta)
    return {"none": losses, "mean": losses.mean(), "sum": losses.sum()}[reduction]


def huber_without_delta(input, target, reduction="mean", delta=1.0):
    return F.smooth_l1_loss(input, target, reduction=reduction, beta=delta)


def test_torchvision_style_focal_loss_has_nan_gradients_for_fractional_gamma():
    """A finding: (1 − p_t)^γ with γ < 1 has an infinite derivative where p_t rounds to 1, and
    autograd's inf·0 gives NaN; the true gradient there is finite (and tiny). The saturated
    edge case pins it; everything else about the torchvision form conforms."""
    report = check(torchvision_sigmoid_focal_loss, "sigmoid_focal_loss", **FAST)
    failed = [c for c in report.checks if c.status != "passed"]
    names = {c.name for c in failed}
    assert "edge[saturated logits, γ = 0.5]@cpu/float64" in names, check_report.render_text(report)
    assert names <= {"edge[saturated logits, γ = 0.5]@cpu/float64", "values[gamma]@cpu/float64"}
    assert all("got nan" in c.message for c in failed)


@pytest.mark.parametrize(
    ("fn", "contract", "diagnosis"),
    [
        (alpha_on_negatives, "sigmoid_focal_loss", "α applied to the negative class"),
        (smooth_l1_without_inverse_beta, "smooth_l1_loss", "without the 1/β"),
        (huber_without_delta, "huber_loss", "Huber without the δ factor"),
    ],
    ids=["focal-alpha-swapped", "smooth-l1-no-inverse-beta", "huber-no-delta"],
)
def test_planted_convention_bugs_are_diagnosed(fn, contract, diagnosis):
    report = check(fn, contract, **FAST)
    assert report.verdict == "deviates"
    assert any(diagnosis in line for line in report.diagnosis), report.diagnosis


def test_stable_example_lists_what_it_exercised_and_what_not():
    report = check(
        load_target(example("stable_cross_entropy.py:cross_entropy")), "cross_entropy", **FAST
    )
    assert report.unsupported == ["label_smoothing", "probability_targets"]
    assert {"core", "weight", "ignore_index", "k_dim"} <= set(report.exercised)


def test_a_declared_feature_is_never_unsupported():
    report = check(
        load_target(example("stable_cross_entropy.py:cross_entropy")),
        "cross_entropy",
        supports=["label_smoothing"],
        **FAST,
    )
    smoothing = [c for c in report.checks if "label_smoothing" in c.name]
    assert smoothing and {c.status for c in smoothing} == {"error"}
    assert report.verdict == "deviates"


def test_mutating_an_input_is_a_deviation():
    def mutating(input, target, weight=None, **params):
        if weight is not None:
            weight.mul_(2)
        return F.cross_entropy(input, target, weight=weight, **params)

    report = check(mutating, "cross_entropy", **FAST)
    weighted = [c for c in report.checks if c.name.startswith("values[weight]")]
    assert weighted[0].status == "failed" and "caller's weight" in weighted[0].message


def test_wrong_output_dtype_is_a_deviation():
    def upcasting(input, target, **params):
        return F.cross_entropy(input.double(), target, **params)

    report = check(upcasting, "cross_entropy", profile="dev", dtypes=(torch.float32,), claims=False)
    assert report.verdict == "deviates"
    assert any("output: got float64" in c.message for c in report.checks)


def test_an_implementation_that_cannot_run_is_an_error():
    class Broken(torch.nn.Module):
        def __init__(self, **params):
            raise RuntimeError("needs a config file")

    report = check(Broken, "kl_div", **FAST)
    assert report.verdict == "error"


def test_known_deviations_keep_ci_green_and_cannot_rot():
    fn = load_target(example("kl_batchmean.py:kl_div"))
    entries = conformance.read_known_deviations(
        "# we follow the old convention\nvalues[reduction=batchmean]@*: divides by N·C on purpose\n"
    )
    report = check(fn, "kl_div", known_deviations=entries, **FAST)
    assert conformance.conforms(report), check_report.render_text(report)
    assert any(c.status == "known" for c in report.checks)

    stale = conformance.read_known_deviations(
        "values[label_smoothing]@*: no such check\nvalues[core]@*: passes now\n"
    )
    report = check(fn, "kl_div", known_deviations=stale, **FAST)
    messages = [c.message for c in report.checks if c.name.startswith("known-deviations")]
    assert "entry matches no check: remove it" in messages
    assert "the known deviation now passes: remove the entry" in messages
    assert report.verdict == "deviates"


def test_known_deviations_file_errors_are_reported():
    with pytest.raises(ValueError, match="line 1"):
        conformance.read_known_deviations("values[core]@* without a reason\n")


def test_assert_conforms():
    assert_conforms(F.kl_div, "kl_div", **FAST)
    with pytest.raises(AssertionError) as raised:
        assert_conforms(load_target(example("kl_batchmean.py:kl_div")), "kl_div", **FAST)
    assert (
        str(raised.value).splitlines()[0].endswith("against kl_div: deviates (13 passed, 2 failed)")
        or "deviates" in str(raised.value).splitlines()[0]
    )


def test_cli_report_json_and_exit_status(tmp_path, capsys):
    """``verify check``'s ``main`` (its return is the process's exit status; a ``verify``
    process costs seconds of CPU, and tests/test_cli_fast.py runs the command itself), then the
    reproduction snippet of its JSON report as a script of its own."""
    out = tmp_path / "report.json"
    status = cli.main(
        ["check", example("kl_batchmean.py:kl_div"), "--contract", "kl_div", "--profile", "dev",
         "--dtype", "float64", "--no-claims", "--json", str(out)]
    )  # fmt: skip
    assert status == 1, capsys.readouterr().err
    assert "deviates" in capsys.readouterr().out.splitlines()[0]
    report = json.loads(out.read_text())
    assert {"target", "contract", "verdict", "checks", "diagnosis"} <= set(report)
    failed = [c for c in report["checks"] if c["status"] == "failed"]
    assert failed and set(failed[0]) >= {"name", "status", "message", "counterexample"}

    snippet = failed[0]["counterexample"]["snippet"]
    reproduced = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert reproduced.returncode == 0, reproduced.stderr
    lines = [line.split()[0:2] for line in reproduced.stdout.splitlines() if line]
    assert [words[0] for words in lines] == ["got", "expected", "got", "expected"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("torch.nn.functional:cross_entropy", "--contract", "focal"), "unknown contract"),
        (("no_such_module:fn", "--contract", "kl_div"), "cannot import no_such_module"),
        (("math:pi", "--contract", "kl_div"), "is not callable"),
        (("missing/file.py:fn", "--contract", "kl_div"), "no such file"),
        (("torch.nn.functional", "--contract", "kl_div"), "TARGET must be"),
        (("torch.nn.functional:nope", "--contract", "kl_div"), "has no attribute"),
    ],
)
def test_cli_usage_errors_are_one_line_exit_2(arguments, message, capsys, monkeypatch):
    # In process (a ``verify`` process costs seconds of CPU): an exception escaping main()
    # fails the test as it would print a traceback; tests/test_cli_fast.py runs the command.
    monkeypatch.chdir(ROOT)
    assert cli.main(["check", *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_cli_lists_contracts(capsys):
    assert cli.main(["contracts"]) == 0
    out = capsys.readouterr().out
    for name in CONTRACTS:
        assert f"{name}:" in out


def test_pytest_impl_option_runs_the_suite_on_a_user_implementation(pytester):
    target = example("kl_batchmean.py:kl_div")
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "specs",
        f"--impl=kl_div={target}",
        "--device=cpu",
        "--dtype=float64",
        "--hypothesis-profile=dev",
        "-p",
        "no:cacheprovider",
        "-q",
        "-x",  # the first deviation found (the conformance run) is all this test needs
        f"--junitxml={junit}",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*test_conforms_to_contract*kl_div*", "*deselected*"])
    assert junit.exists()


def test_pytest_impl_option_rejects_bad_targets(run_pytest):
    result = run_pytest("--impl=kl_div=no_such:thing", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--impl 'kl_div=no_such:thing': cannot import no_such*"])


def zero_when_all_ignored(count_ignored: bool):
    """Cross-entropy returning 0 (not NaN) for a 'mean' with every target ignored; with
    ``count_ignored`` it also divides by every position, ignored ones included (a second bug)."""

    def cross_entropy(input, target, ignore_index=-100, reduction="mean", **params):
        kept = target != ignore_index
        if reduction == "mean" and target.numel() and not bool(kept.any()):
            return (input * 0).sum()
        if reduction == "mean" and count_ignored and "weight" not in params:
            total = F.cross_entropy(input, target, ignore_index=ignore_index, reduction="sum")
            return total / target.numel()
        return F.cross_entropy(
            input, target, ignore_index=ignore_index, reduction=reduction, **params
        )

    return cross_entropy


def test_a_scoped_known_deviation_accepts_only_the_cases_it_names():
    entries = conformance.read_known_deviations(
        "edge[all_ignored, mean]@*: 0 when every target is ignored\n"
        "values[ignore_index]@* where all_ignored=true: 0 when every target is ignored\n"
    )
    accepted = check(
        zero_when_all_ignored(False), "cross_entropy", known_deviations=entries, **FAST
    )
    assert conformance.conforms(accepted), check_report.render_text(accepted)
    second_bug = check(
        zero_when_all_ignored(True), "cross_entropy", known_deviations=entries, **FAST
    )
    ignore_check = next(
        c for c in second_bug.checks if c.name == "values[ignore_index]@cpu/float64"
    )
    assert ignore_check.status == "failed", check_report.render_text(second_bug)
    assert second_bug.verdict == "deviates"


def test_claim_checks_are_named_by_their_pytest_ids():
    from verify.conformance.claims import _check

    entry = {
        "nodeid": "specs/test_cross_entropy.py::test_ce1_x[cpu-float64-impl-none]",
        "claims": ["CE-1"],
        "outcome": "skipped",
        "message": "unsupported: declines the keyword 'weight'",
    }
    result = _check(entry)
    assert result.name == "claim[CE-1]:test_ce1_x[cpu-float64-impl-none]"
    assert result.status == "unsupported"


@pytest.mark.parametrize(
    ("message", "declined_any", "status"),
    [
        ("unsupported: ValueError for label_smoothing: must be < 1", False, "error"),
        ("unsupported: ValueError for label_smoothing: must be < 1", True, "unsupported"),
        ("unsupported: NotImplementedError: weight with label smoothing", False, "unsupported"),
        ("unsupported: no double backward (its gradient is computed outside autograd)", False,
         "unsupported"),
    ],
)  # fmt: skip
def test_a_claim_case_declined_where_the_checks_saw_no_decline_is_an_error(
    message, declined_any, status
):
    """Unless the decline is explicit: a NotImplementedError, or no double backward."""
    from verify.conformance.claims import reconcile
    from verify.conformance.results import CheckResult

    results = [CheckResult("claim[CE-6]:test_ce6_x[cpu-float64-impl]", "unsupported", message)]
    reconcile(results, declined_any)
    assert results[0].status == status


def test_declining_one_value_of_a_parameter_keeps_the_feature():
    def little_smoothing(input, target, label_smoothing=0.0, **params):
        if label_smoothing > 0.5:
            raise NotImplementedError("label_smoothing must be at most 0.5")
        return F.cross_entropy(input, target, label_smoothing=label_smoothing, **params)

    report = check(little_smoothing, "cross_entropy", **FAST)
    smoothing = next(c for c in report.checks if c.name == "values[label_smoothing]@cpu/float64")
    assert smoothing.status == "passed" and "declined" in smoothing.message, smoothing
    assert "label_smoothing" in report.exercised
    assert report.verdict == "conforms on the features it supports"  # not the feature whole
    shown = check_report.render_text(report).splitlines()  # listed though it passed
    assert [line.split()[:2] for line in shown if "at most 0.5" in line] == [
        ["PASSED", "values[label_smoothing]@cpu/float64:"]
    ]


def test_a_wrongly_shaped_output_is_named():
    def flattened(input, target, reduction="mean", **params):
        return F.cross_entropy(input, target, reduction=reduction, **params).flatten()

    report = check(flattened, "cross_entropy", **FAST)
    core = next(c for c in report.checks if c.name == "values[core]@cpu/float64")
    assert core.status == "failed" and "got shape (1,), expected shape ()" in core.message, core


def test_nan_for_an_empty_batch_under_sum_is_caught():
    def nan_when_empty(input, target, reduction="mean", **params):
        if target.numel() == 0:
            return input.sum() * float("nan")
        return F.cross_entropy(input, target, reduction=reduction, **params)

    report = check(nan_when_empty, "cross_entropy", **FAST)
    edge = next(c for c in report.checks if c.name == "edge[empty_batch, sum]@cpu/float64")
    assert edge.status == "failed" and "got nan" in edge.message, edge


class _WrongBackward(torch.autograd.Function):
    """Cross-entropy whose backward returns half the gradient."""

    @staticmethod
    def forward(ctx, input, target):
        ctx.save_for_backward(input, target)
        return F.cross_entropy(input, target)

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        with torch.enable_grad():
            x = input.detach().requires_grad_()
            (g,) = torch.autograd.grad(F.cross_entropy(x, target), x)
        return 0.5 * grad * g, None


def test_gradcheck_catches_a_backward_that_disagrees_with_its_forward():
    def half_gradient(input, target, **params):
        if params:
            raise NotImplementedError("the core case only")
        return _WrongBackward.apply(input, target)

    report = check(half_gradient, "cross_entropy", **FAST)
    gradcheck = next(c for c in report.checks if c.name == "gradcheck@cpu/float64")
    assert gradcheck.status == "failed", gradcheck
    assert "central differences" in gradcheck.message
