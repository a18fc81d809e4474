"""Coloured MNIST (paper §5.1): channel rules, label and attribute definitions, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from latentsep.data.coloured import GREEN, RED, colourize, make_coloured_mnist, prevalence_subsample


def digits(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 28, 28) images with ~30 % foreground (values 1-255) and labels cycling 0-9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(1, 256, (n, 28, 28)) * (rng.random((n, 28, 28)) < 0.3)
    return images.astype(np.uint8), np.arange(n) % 10


def test_labels_and_attribute_definitions():
    images, labels = digits(20)
    _, table = make_coloured_mnist(images, labels, seed=0)
    assert list(table.columns) == ["y", "digit", "digit_group", "colour", "random"]
    assert table["digit"].tolist() == labels.tolist()
    assert table["y"].tolist()[:10] == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    assert table["digit_group"].tolist()[:10] == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert set(table["colour"]) <= {RED, GREEN} and set(table["random"]) <= {0, 1}


def test_channel_rules():
    images, labels = digits()
    x, table = make_coloured_mnist(images, labels, seed=1)
    assert x.dtype == np.float32 and x.shape == (len(images), 3, 28, 28)
    assert x.min() >= 0.0 and x.max() <= 1.0
    grey = images.astype(np.float32) / 255.0
    foreground = images > 0
    for i, colour in enumerate(table["colour"]):
        np.testing.assert_array_equal(x[i, colour], foreground[i].astype(np.float32))
        for other in {0, 1, 2} - {colour}:
            assert (x[i, other] <= grey[i] + 1e-7).all()
            assert (x[i, other][~foreground[i]] == 0).all()
    # the noise is U(0, 1) per pixel: ratio to the pixel value has mean 1/2 and spread
    blue = x[:, 2][foreground] / grey[foreground]
    assert abs(blue.mean() - 0.5) < 0.01 and 0.28 < blue.std() < 0.30  # U(0,1) std = 0.2887


def test_same_seed_same_output_other_seed_differs():
    images, labels = digits(50)
    x1, t1 = make_coloured_mnist(images, labels, seed=7)
    x2, t2 = make_coloured_mnist(images, labels, seed=7)
    x3, t3 = make_coloured_mnist(images, labels, seed=8)
    np.testing.assert_array_equal(x1, x2)
    assert t1.equals(t2)
    assert not np.array_equal(x1, x3) and not t1["colour"].equals(t3["colour"])


def test_colour_and_random_are_fair_coins():
    images, labels = digits(4000)
    _, table = make_coloured_mnist(images, labels, seed=2)
    for column in ("colour", "random"):
        assert abs(table[column].mean() - 0.5) < 4 * 0.5 / np.sqrt(4000)
    assert abs(np.corrcoef(table["colour"], table["random"])[0, 1]) < 0.07


def test_colour_prob_per_digit_group_and_coupling():
    images, labels = digits(4000)
    x_fair, fair = make_coloured_mnist(images, labels, seed=3)
    x_bias, biased = make_coloured_mnist(images, labels, seed=3, colour_prob=(0.1, 0.9))
    share = biased.groupby("digit_group")["colour"].mean()
    assert abs(share[0] - 0.1) < 0.03 and abs(share[1] - 0.9) < 0.03
    assert biased["random"].equals(fair["random"])  # other streams unchanged
    same = (fair["colour"] == biased["colour"]).to_numpy()
    np.testing.assert_array_equal(x_fair[same], x_bias[same])
    group1 = (fair["digit_group"] == 1).to_numpy()
    assert (biased["colour"][group1] >= fair["colour"][group1]).all()  # higher p only turns red green
    all_green = make_coloured_mnist(images[:30], labels[:30], seed=0, colour_prob=1.0)[1]
    assert (all_green["colour"] == GREEN).all()


def test_colourize_known_image():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 3, 4] = 51
    x = colourize(image, np.array([RED]), np.random.default_rng(0))
    assert x[0, 0, 3, 4] == 1.0 and x[0, 0].sum() == 1.0
    assert 0 < x[0, 1, 3, 4] < 0.2 and 0 < x[0, 2, 3, 4] < 0.2 and x[0, 1:].sum() == x[0, 1:, 3, 4].sum()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"images": np.zeros((2, 28, 28), np.float32)}, "images must be uint8"),
        ({"labels": np.array([1, 12])}, "labels must hold one digit 0-9"),
        ({"labels": np.array([1])}, r"got shape \(1,\)"),
        ({"colour_prob": 1.5}, r"colour_prob must lie in \[0, 1\]; got 1.5"),
        ({"colour_prob": (0.1, 0.2, 0.3)}, "one probability or a pair"),
    ],
)
def test_bad_input_names_argument(kwargs, message):
    args = {"images": np.zeros((2, 28, 28), np.uint8), "labels": np.array([1, 2]), "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        make_coloured_mnist(**args)


def test_prevalence_subsample_exact_share_and_default_size():
    group = np.array([0] * 30 + [1] * 10)
    idx = prevalence_subsample(group, 0.5, seed=0)
    assert len(idx) == 20 and group[idx].sum() == 10 and len(np.unique(idx)) == 20
    idx = prevalence_subsample(group, 0.25, seed=0)
    assert len(idx) == 40 and group[idx].sum() == 10
    idx = prevalence_subsample(group, 0.1, seed=0, n=20)
    assert len(idx) == 20 and group[idx].sum() == 2
    assert prevalence_subsample(group, 0.0, seed=0).tolist() == list(range(30))
    np.testing.assert_array_equal(
        prevalence_subsample(group, 0.3, seed=4, n=20), prevalence_subsample(group, 0.3, seed=4, n=20)
    )
    with pytest.raises(ValueError, match="needs 11 rows of group 1 and 11 of group 0, but only 10 and 30"):
        prevalence_subsample(group, 0.5, seed=0, n=22)
