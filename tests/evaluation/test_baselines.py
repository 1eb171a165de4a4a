"""Trivial baselines: fitted on training targets only, predicting the same thing for every input."""

import torch

from sciformers.core import create_model


def test_majority_predicts_the_most_frequent_training_label():
    model = create_model("majority", num_classes=4, vocab_size=99).fit(torch.tensor([2, 1, 2, 3, 2, 1]))
    scores = model.predict({"tokens": torch.zeros(5, 7), "label": torch.zeros(5)})
    assert scores.shape == (5, 4) and scores.argmax(-1).tolist() == [2] * 5


def test_majority_breaks_ties_towards_the_smallest_label():
    model = create_model("majority", num_classes=3).fit(torch.tensor([2, 1, 2, 1]))
    assert model.predict({"x": torch.zeros(1)}).argmax(-1).item() == 1


def test_mean_regressor_predicts_the_training_mean_per_output():
    targets = torch.tensor([[1.0, 10.0], [3.0, 20.0]])
    model = create_model("mean").fit(targets)
    out = model.predict({"x": torch.zeros(3, 5)})
    assert torch.equal(out, torch.tensor([[2.0, 15.0]] * 3))
    assert sum(p.numel() for p in model.parameters()) == 0
