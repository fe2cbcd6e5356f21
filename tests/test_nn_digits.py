"""The handwritten digits shipped in the package: checksum, shape, classes, range, and a real training run."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

import nn.digits
from nn import MLP, Adam, cross_entropy, evaluate, fit, load_digits, train_test_split

pytestmark = pytest.mark.nn

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT / "nn" / "data_files" / "digits.csv.gz"
# UCI's class counts for the optdigits test set, digits 0 to 9
UCI_TEST_SET_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
# sha256 of the data as load_digits reads it: every pixel's ink count 0..16, then every label
CONTENT_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_the_shipped_file_has_the_recorded_checksum_and_stays_small():
    data = DATA_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == nn.digits.DIGITS_SHA256
    assert len(data) < 100_000
    readme = (DATA_FILE.parent / "README.md").read_text()
    for fact in (nn.digits.DIGITS_SHA256, "CC BY 4.0", "10.24432/C50P49", "Alpaydin", "scikit-learn"):
        assert fact in readme


def test_the_numbers_read_are_those_recorded(digits):
    X, y = digits
    counts = bytes(round(p * 16) for row in X for p in row)
    assert hashlib.sha256(counts + bytes(y)).hexdigest() == CONTENT_SHA256


def test_there_are_1797_images_of_64_float_pixels_and_an_int_label_each(digits):
    X, y = digits
    assert len(X) == len(y) == 1797
    assert all(len(row) == 64 and all(type(p) is float for p in row) for row in X)
    assert all(type(label) is int for label in y)


def test_the_ten_classes_have_the_counts_of_the_uci_test_set(digits):
    _, y = digits
    counts = Counter(y)
    assert [counts[d] for d in range(10)] == UCI_TEST_SET_COUNTS


def test_pixels_are_ink_counts_scaled_to_zero_one(digits):
    X, _ = digits
    pixels = [p for row in X for p in row]
    assert min(pixels) == 0.0 and max(pixels) == 1.0
    assert all((p * 16).is_integer() for p in pixels)  # k / 16 for k = 0 .. 16, exactly


def test_the_first_image_is_a_zero_drawn_row_by_row_from_the_top(digits):
    X, y = digits
    assert y[:10] == list(range(10))
    top_row = [round(p * 16) for p in X[0][:8]]
    assert top_row == [0, 0, 5, 13, 9, 1, 0, 0]  # the top of the 0's loop, in the middle columns


def test_every_call_gives_new_lists():
    X, y = load_digits()
    X[0][0], y[0] = 99.0, 99
    X2, y2 = load_digits()
    assert X2[0][0] == 0.0 and y2[0] == 0


def test_a_damaged_file_is_an_error_naming_it_not_wrong_numbers(monkeypatch):
    monkeypatch.setattr(nn.digits, "DIGITS_SHA256", "0" * 64)  # as if the file's bytes had changed
    with pytest.raises(OSError, match=r"nn/data_files/digits.csv.gz is damaged .* reinstall chainrule"):
        load_digits()


def test_a_small_mlp_learns_to_read_digits_far_better_than_chance(digits):
    X, y = digits
    X_train, y_train, X_test, y_test = train_test_split(X, y, test_fraction=0.2, seed=0)
    model = MLP(64, [16, 10], seed=0)  # 400 images, 5 epochs: about a second
    fit(model, X_train[:400], y_train[:400], cross_entropy, Adam(model.parameters(), lr=0.02),
        epochs=5, batch_size=20, progress=False)
    loss, accuracy = evaluate(model, X_test, y_test, cross_entropy)
    assert accuracy > 0.8 and loss < 0.6  # chance is 0.1 (a loss of ln 10 = 2.3); seeds 0-3 give 0.89-0.91


def test_a_wheel_of_the_project_ships_the_data_and_its_readme(project_wheel):
    # a non-editable install has only what the wheel holds (project_wheel: tests/conftest.py)
    assert project_wheel.read("nn/data_files/digits.csv.gz") == DATA_FILE.read_bytes()
    assert "CC BY 4.0" in project_wheel.read("nn/data_files/README.md").decode()
