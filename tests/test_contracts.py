"""Every registered contract is complete, and the registry is the package's modules.

Complete: a reference and a gradient, parameters, input kinds, a feature matrix whose core
case strategy and bounds work (a float64 core case of torch's form, or of the benchmarked
built-in, matches the oracle within the contract's own bounds), torch forms with their form
cases or a stated reason torch has none, and benchmark cases (possibly none) that name the
contract and have a built-in to time.
"""

from __future__ import annotations

import pkgutil

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import verify.contracts
from verify.conformance.evaluation import Caller, Clock, Target, assert_matches, oracle_inputs
from verify.contracts import CONTRACT_MODULES, CONTRACTS, as_implementation, class_forms

NOT_CONTRACTS = {"contract", "families"}  # the types, and what several contracts share


def test_the_registry_is_the_package_modules_in_listing_order():
    on_disk = {m.name for m in pkgutil.iter_modules(verify.contracts.__path__)} - NOT_CONTRACTS
    assert on_disk == set(CONTRACT_MODULES), (
        f"contract modules: got {sorted(on_disk)}, expected CONTRACT_MODULES "
        f"{sorted(CONTRACT_MODULES)} (register a new module in verify/contracts/__init__.py)"
    )
    assert list(CONTRACTS) == list(CONTRACT_MODULES)
    for name, contract in CONTRACTS.items():
        assert contract.name == name, f"contract name: got {contract.name!r}, expected {name!r}"


@pytest.mark.parametrize("name", CONTRACT_MODULES)
def test_contract_declares_every_part(name):
    contract = CONTRACTS[name]
    assert callable(contract.reference) and callable(contract.gradient)
    assert contract.params and contract.input_kinds and contract.summary
    assert contract.conformance.features, f"{name}: no optional features"
    if contract.implementations:
        assert {i.form for i in contract.implementations} == set(verify.contracts.FORMS)
        assert contract.form_cases is not None, f"{name}: torch forms without form cases"
        assert not contract.without_torch_form
    else:
        assert contract.without_torch_form, f"{name}: no torch forms and no reason given"
    assert isinstance(contract.benchmark_cases, tuple)
    for case in contract.benchmark_cases:
        assert case.loss == name, f"{name}: benchmark case {case.id} names {case.loss!r}"
    if contract.benchmark_cases:
        assert callable(contract.builtin), f"{name}: benchmark cases without a built-in"


def _checked_form(name: str):
    contract = CONTRACTS[name]
    if contract.implementations:
        return contract.implementation("functional")
    if contract.builtin is not None:
        return as_implementation(contract.builtin)
    return None


@pytest.mark.parametrize("name", CONTRACT_MODULES)
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_core_case_matches_the_oracle_within_its_bounds(name, data):
    contract = CONTRACTS[name]
    matrix = contract.conformance
    case = data.draw(matrix.cases(torch.float64, frozenset(), matrix.core_reduction))
    bounds = matrix.bounds(case, case.scores)
    assert {"terms"} <= set(bounds.value) and {"terms"} <= set(bounds.gradient)
    impl = _checked_form(name)
    if impl is None:  # nothing outside the oracle to compare: its own value and gradient
        value = contract.reference(*oracle_inputs(case), **case.params)
        grad = contract.gradient(*oracle_inputs(case), case.cotangent, **case.params)
        assert np.all(np.isfinite(value)), f"{name} oracle value: got {value}, expected finite"
        assert np.shape(grad) == np.shape(case.scores)
        return
    assert_matches(Caller(impl, Clock()), Target(name, contract), case, "cpu", torch.float64)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("form", class_forms(), ids=lambda f: f.module.__name__)
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_form_cases_run_both_forms(form, data):
    case = data.draw(form.cases(torch.float32))
    inputs = [torch.as_tensor(a) for a in case.inputs]
    params = {
        k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in case.params.items()
    }
    for reduction in form.reductions:
        keyword = {} if reduction is None else {"reduction": reduction}
        expected = form.functional(*inputs, **params, **keyword)
        got = form.module(**params, **keyword)(*inputs)
        torch.testing.assert_close(got, expected, equal_nan=True)
