"""Per-subgroup metrics against scikit-learn (golden equality to 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss, roc_auc_score

from latentsep.metrics import METRICS, balanced_accuracy, subgroup_metrics


def random_proba(rng, n_runs, n, n_classes, ties=False):
    logits = rng.normal(size=(n_runs, n, n_classes))
    proba = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    if ties:  # coarse probabilities: many tied scores, exercising average ranks in the AUC
        proba[..., 1:] = np.round(proba[..., 1:], 1) / 2
        proba[..., 0] = 1 - proba[..., 1:].sum(axis=2)
    return proba


def sklearn_metric(metric, y, proba, n_classes):
    pred = proba.argmax(axis=1)
    if metric == "accuracy":
        return accuracy_score(y, pred)
    if metric == "balanced_accuracy":
        return balanced_accuracy_score(y, pred)
    if metric == "cross_entropy":
        return log_loss(y, proba, labels=list(range(n_classes)))
    if n_classes == 2:
        return roc_auc_score(y, proba[:, 1])
    return roc_auc_score(y, proba, multi_class="ovr", average="macro")


@pytest.mark.parametrize(("n_classes", "ties"), [(2, False), (2, True), (3, False)])
def test_every_metric_equals_sklearn(n_classes, ties):
    rng = np.random.default_rng(n_classes + 10 * ties)
    n, n_runs = 300, 4
    y = rng.integers(0, n_classes, n)
    proba = random_proba(rng, n_runs, n, n_classes, ties)
    groups = {"sex": rng.integers(0, 2, n), "site": rng.choice([3, 5, 8], n)}
    table = subgroup_metrics(y, proba, groups)
    checked = 0
    for row in table[table.metric != "worst_group_accuracy"].itertuples():
        values = groups[row.attribute]
        mask = np.ones(n, bool) if row.group == "all" else values == row.group
        expected = sklearn_metric(row.metric, y[mask], proba[row.run, mask], n_classes)
        assert row.value == pytest.approx(expected, abs=1e-12), row
        assert row.n == mask.sum()
        checked += 1
    assert checked == n_runs * len(METRICS) * (3 + 4)  # sex: 0, 1, all; site: 3, 5, 8, all


def test_table_layout_and_worst_group():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    proba = random_proba(rng, 3, 200, 2)
    table = subgroup_metrics(y, proba, {"colour": rng.integers(0, 2, 200)})
    assert list(table.columns) == ["run", "attribute", "group", "metric", "value", "n"]
    assert len(table) == 3 * 3 * len(METRICS) + 3
    accuracy = table[table.metric == "accuracy"]
    worst = table[table.metric == "worst_group_accuracy"].set_index("run").value
    per_group = accuracy[accuracy.group != "all"].groupby("run").value.min()
    np.testing.assert_array_equal(worst.sort_index().to_numpy(), per_group.to_numpy())
    assert set(table.group) == {0, 1, "all"}
    overall = subgroup_metrics(y, proba[0], {})  # (N, C) is one run; no attributes → "all"
    assert set(overall.attribute) == {"all"} and len(overall) == len(METRICS)


def test_one_class_group_gives_nan_auc_with_a_note():
    y = np.array([0, 0, 0, 1, 1, 0])
    a = np.array([0, 0, 0, 1, 1, 1])  # group 0 holds class 0 only
    proba = random_proba(np.random.default_rng(1), 2, 6, 2)
    table = subgroup_metrics(y, proba, {"view": a})
    auc = table[(table.metric == "roc_auc") & (table.group == 0)].value
    assert auc.isna().all()
    assert table[(table.metric == "roc_auc") & (table.group == 1)].value.notna().all()
    assert any("'view', group 0" in note for note in table.attrs["notes"])


def test_absent_group_names_attribute_and_group():
    y = np.array([0, 1, 0, 1])
    proba = random_proba(np.random.default_rng(2), 1, 4, 2)
    with pytest.raises(ValueError, match="group 1 of attribute 'race' is absent"):
        subgroup_metrics(y, proba, {"race": np.zeros(4, dtype=int)})
    with pytest.raises(ValueError, match="group 'c' of attribute 'site' is absent"):
        subgroup_metrics(y, proba, {"site": np.array(["a", "b", "a", "b"])},
                         expected_groups={"site": ["a", "b", "c"]})


def test_bad_probabilities_and_labels():
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="Apply a softmax"):
        subgroup_metrics(y, np.full((1, 4, 2), 0.7), {})
    with pytest.raises(ValueError, match=r"shape \(runs, 4, classes>=2\)"):
        subgroup_metrics(y, np.full((1, 5, 2), 0.5), {})
    with pytest.raises(ValueError, match="class indices in"):
        subgroup_metrics(np.array([0, 1, 2, 1]), np.full((1, 4, 2), 0.5), {})
    with pytest.raises(ValueError, match="groups\\['a'\\] has 3 entries"):
        subgroup_metrics(y, np.full((1, 4, 2), 0.5), {"a": [0, 1, 0]})


def test_balanced_accuracy_broadcasts_over_runs():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 50)
    pred = rng.integers(0, 3, (6, 50))
    expected = [balanced_accuracy_score(y, p) for p in pred]
    np.testing.assert_allclose(balanced_accuracy(y, pred), expected, atol=1e-12)
    # a class absent from y_true is left out of the mean, as in scikit-learn
    assert balanced_accuracy(np.array([0, 0, 1]), np.array([0, 2, 1]), 3) == pytest.approx(0.75)


def test_prevalence_gap_marks_attributes_outside_the_theorems_assumption():
    from latentsep.metrics import prevalence_gap

    # 0.6 vs 0.3 on 100 rows each: gap 0.3, se = sqrt(0.24/100 + 0.21/100) = 0.0671
    y = np.array([1] * 60 + [0] * 40 + [1] * 30 + [0] * 70)
    g = np.array([1] * 100 + [0] * 100)
    out = prevalence_gap(y, g)
    assert out["gap"] == pytest.approx(0.3)
    assert out["ci_high"] - out["gap"] == pytest.approx(1.959964 * np.sqrt(0.0045), rel=1e-5)
    assert out["outside"] == 1.0
    equal = prevalence_gap(np.array([1, 0] * 100), np.array([0, 0, 1, 1] * 50))
    assert equal["gap"] == pytest.approx(0.0) and equal["outside"] == 0.0
    with pytest.raises(ValueError, match="group 1 has 0 rows"):
        prevalence_gap(np.array([1, 0, 1]), np.array([0, 0, 0]))
