"""The seed questions' exercises measure what they claim: the Table 1 reference matches
torchvision's models block by block, the homework's ResNeXt-50 is torchvision's, "always
project" costs about 14.6M parameters (+58%) on it, and the shortcuts of exercise 15 do
carry the gradient."""

from __future__ import annotations

import pytest
import torch

import shapecheck
from shapecheck.exercises import find
from shapecheck.exercises.grading import shipped_attempt
from shapecheck.exercises.items.e15_why_residual import first_layer_gradients
from shapecheck.exercises.items.e17_homework_claims import always_project_params, facts
from shapecheck.load.thirdparty import import_torchvision

TORCHVISION = import_torchvision()
needs_torchvision = pytest.mark.skipif(TORCHVISION is None, reason="torchvision not installed")


def _torchvision_report(name: str, shape=(1, 3, 224, 224)):
    with torch.device("meta"):
        model = getattr(TORCHVISION.models, name)()
    return shapecheck.check(model, shape)


@needs_torchvision
@pytest.mark.parametrize("factory,name,params", [("build", "resnet34", 21_797_672),
                                                 ("build_resnet50", "resnet50", 25_557_032)])
def test_table1_reference_is_torchvisions_model(factory, name, params):
    mine = shipped_attempt(find("resnet-table1"), "solution", "en").analyse(factory)
    theirs = _torchvision_report(name)
    assert mine.parameters == theirs.parameters == params
    assert [(b.input_shape, b.output_shape, b.shortcut, b.params) for b in mine.blocks] == \
        [(b.input_shape, b.output_shape, b.shortcut, b.params) for b in theirs.blocks]
    assert mine.output_shapes == theirs.output_shapes == [(1, 1000)]


@needs_torchvision
def test_homework_resnext50_is_torchvisions_and_always_projecting_costs_58_percent():
    attempt = shipped_attempt(find("homework-claims"), "solution", "en")
    theirs = _torchvision_report("resnext50_32x4d", (1, 3, 64, 64))
    assert attempt.report.parameters == theirs.parameters
    plain, projected = always_project_params(attempt)
    extra = projected - plain
    assert round(extra / 1e6, 1) == 14.6 and round(100 * extra / plain) == 58
    # each of the 12 identity blocks gains a c x c conv and a BN of 2c
    widths = [b.input_shape[1] for b in attempt.report.blocks if b.shortcut == "identity"]
    assert extra == sum(c * c + 2 * c for c in widths) and len(widths) == 12


def test_homework_claims_are_decided_by_the_report():
    truth = facts(shipped_attempt(find("homework-claims"), "starter", "en").report)
    assert (truth["CLAIM_A_BRANCH_NEVER_REACHED"], truth["CLAIM_B_INPUT_EQUALS_FILTERS_X2"],
            truth["CLAIM_C_GROUPED_CHANGES_CHANNELS"]) == (False, True, False)


def test_shortcuts_carry_the_gradient_to_the_first_layer():
    module = shipped_attempt(find("why-residual"), "solution", "en").module
    for seed in range(3):
        residual, plain = first_layer_gradients(module, seed)
        assert residual > 1e3 * plain > 0
