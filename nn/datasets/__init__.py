"""Data: the toy data sets and the handwritten digits."""
