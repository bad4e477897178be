r"""Real data sets that ship *inside* installed packages (nothing is downloaded at run time).

* :func:`image_patches` -- square grey-scale patches of the two natural photographs bundled with
  scikit-learn (``sklearn.datasets.load_sample_images``: ``china.jpg`` and ``flower.jpg``, 427 x 640
  pixels each).  32 x 32 patches give the 1024-dimensional inputs of Worschech & Rosenow's real-data
  experiment (they use CIFAR-5m, which cannot be downloaded here); natural images have a power-law
  covariance spectrum.
* :func:`digits` -- the 1797 handwritten 8 x 8 digits (``sklearn.datasets.load_digits``), 64 pixels.

Both return float arrays of shape (n_samples, n_features) with pixel values in [0, 1] (digits: 0-16
rescaled), uncentred; :func:`scalinglaws.committee.linear.data_eigenbasis` centres and rotates them.
"""

from __future__ import annotations

import functools

import numpy as np

from scalinglaws.errors import check_int, require

__all__ = ["image_patches", "digits"]


@functools.lru_cache(maxsize=4)
def _patches(size: int, stride: int) -> np.ndarray:
    from sklearn.datasets import load_sample_images
    out = []
    for img in load_sample_images().images:
        g = np.asarray(img, dtype=float).mean(axis=2) / 255.0          # grey scale in [0, 1]
        H, W = g.shape
        rows = range(0, H - size + 1, stride)
        cols = range(0, W - size + 1, stride)
        win = np.lib.stride_tricks.sliding_window_view(g, (size, size))[::stride, ::stride]
        require(win.shape[:2] == (len(rows), len(cols)), "stride", stride, "a valid patch grid")
        out.append(win.reshape(-1, size * size))
    X = np.ascontiguousarray(np.concatenate(out))
    X.setflags(write=False)
    return X


def image_patches(size: int = 32, stride: int = 4) -> np.ndarray:
    """All ``size`` x ``size`` grey-scale patches (pixel mean over RGB, scaled to [0, 1]) of
    scikit-learn's two bundled photographs, taken every ``stride`` pixels in both directions;
    shape (n, size**2), read-only (cached per process).  The defaults give 30,294 patches of
    dimension 1024."""
    size = check_int("size", size, 2, 64)
    stride = check_int("stride", stride, 1, size)
    return _patches(size, stride)


def digits() -> np.ndarray:
    """scikit-learn's 1797 handwritten digits, 8 x 8 pixels, scaled to [0, 1]; shape (1797, 64)."""
    from sklearn.datasets import load_digits
    return load_digits().data / 16.0
