"""`load_digits`: 1,797 handwritten digits as 8x8 pictures, real data that ships inside the package.

The images are the test set of the UCI "Optical Recognition of Handwritten Digits" data
(E. Alpaydin and C. Kaynak, 1998; https://doi.org/10.24432/C50P49; CC BY 4.0), written by 13
people. Each 32x32 bitmap of a digit was cut into 8x8 blocks of 4x4 pixels, and each pixel of
the picture counts the ink in its block: 0 to 16. The file, nn/data_files/digits.csv.gz, is
the copy scikit-learn ships, byte for byte; nn/data_files/README.md says where it comes from.

Nothing is downloaded: the data is 57 KB, read in a few milliseconds, and checked against its
SHA-256 on every load, so a damaged install says so instead of training on wrong numbers.
"""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

DIGITS_FILE = "digits.csv.gz"  # in the folder nn/data_files
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"  # of the file as shipped
N_DIGITS, N_PIXELS, N_CLASSES = 1797, 64, 10
MAX_INK = 16  # a pixel counts the ink in a 4x4 block: 0 .. 16


def load_digits() -> tuple[list[list[float]], list[int]]:
    """The 1,797 digits as (X, y): X[i] the 64 pixels of image i, y[i] its digit 0-9.

    The pixels of an image are its 8 rows of 8, top row first (pixel (row r, column c) is
    X[i][8 r + c]), scaled from the ink counts 0..16 to [0, 1]: 0 is blank paper, 1 is a block
    fully inked. Every call returns new lists, in the file's order (use `train_test_split`).
    """
    raw = resources.files("nn").joinpath("data_files", DIGITS_FILE).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGITS_SHA256:
        raise OSError(f"load_digits: nn/data_files/{DIGITS_FILE} is damaged (its SHA-256 is {digest}, "
                      f"not {DIGITS_SHA256}); reinstall chainrule")
    X, y = [], []
    scale = 1.0 / MAX_INK  # a power of two: k / 16 and k * (1/16) are the same float
    for line in gzip.decompress(raw).decode("ascii").splitlines():
        *pixels, label = map(int, line.split(","))
        X.append([p * scale for p in pixels])
        y.append(label)
    return X, y
