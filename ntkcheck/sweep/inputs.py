r"""Images a training-free metric is computed on: CIFAR-10/100 as a user has them, or a bundled natural-image source.

* :func:`read_cifar` reads torchvision's on-disk CIFAR format (the python pickle batches, Krizhevsky 2009:
  ``cifar-10-batches-py/data_batch_1..5``, ``test_batch``; ``cifar-100-python/train``, ``test``; each a pickled
  dict with ``b'data'`` (n, 3072) uint8 in channel-major order and ``b'labels'`` / ``b'fine_labels'``) with
  numpy and a restricted unpickler (:mod:`ntkcheck.safe_pickle`: no global but numpy's array constructors,
  so a crafted file cannot run code) — no torchvision.
* :func:`natural_images` is the default when no images are given: seeded 32×32 crops of the two colour photos
  scikit-learn ships (``sklearn.datasets.load_sample_images``: china.jpg, flower.jpg), never Gaussian noise.
  Labels are the crop's image and horizontal fifth (10 classes), a stand-in that LGA can align with.
* :class:`Inputs` holds the normalised images (n, 3, 32, 32) float32, labels, a one-line ``source`` that every
  report prints, and a ``fingerprint`` (sha256 of source, pixels and labels) that enters every metric's config hash.

Normalisation: per-channel standardisation with the CIFAR-10 constants mean (0.4914, 0.4822, 0.4465), std
(0.2023, 0.1994, 0.2010) (the constants of the TE-NAS and LGA codes) for every source, so that a network sees the
same pixel scale whatever the source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntkcheck.errors import NtkcheckError
from ntkcheck.safe_pickle import read_cifar_batch

__all__ = ["Inputs", "read_cifar", "natural_images", "load_inputs", "image_patches", "flat_rows",
           "CIFAR_MEAN", "CIFAR_STD", "FLAT_DIM"]

CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
CIFAR_STD = np.array([0.2023, 0.1994, 0.2010], dtype=np.float32)

#: torchvision's folder names, the batch files read from each (first file first), label key, number of classes.
_LAYOUTS = (("cifar-10-batches-py", "cifar10", ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                                                "data_batch_5"), b"labels", 10),
            ("cifar-100-python", "cifar100", ("train",), b"fine_labels", 100))


@dataclass(frozen=True)
class Inputs:
    """Normalised images (n, 3, 32, 32) float32 with integer labels (n,), where they came from, and a fingerprint."""

    images: np.ndarray
    labels: np.ndarray
    source: str

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256(self.source.encode())
        h.update(np.ascontiguousarray(self.images, dtype=np.float32).tobytes())
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).tobytes())
        return h.hexdigest()

    def batch(self, n: int, repeat: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Images and labels [repeat·n, (repeat+1)·n) — repeats see disjoint batches, every architecture the same."""
        lo, hi = repeat * n, (repeat + 1) * n
        if hi > self.images.shape[0]:
            raise NtkcheckError(f"the input source has {self.images.shape[0]} images; this metric needs {hi} "
                                f"(batch {n} × {repeat + 1} repeats)")
        return self.images[lo:hi], self.labels[lo:hi]


def _normalise(u8: np.ndarray) -> np.ndarray:
    x = u8.astype(np.float32) / 255.0
    return (x - CIFAR_MEAN[None, :, None, None]) / CIFAR_STD[None, :, None, None]


def read_cifar(directory: str | Path, n: int, *, seed: int = 0) -> Inputs:
    """``n`` training images of CIFAR-10 or CIFAR-100 from torchvision's on-disk layout (``directory`` is the
    torchvision root or the ``cifar-10-batches-py`` / ``cifar-100-python`` folder itself), drawn without
    replacement by a seeded permutation of the training set."""
    root = Path(directory)
    if not root.is_dir():
        raise NtkcheckError(f"--images {root}: not a directory")
    for folder, name, files, label_key, n_classes in _LAYOUTS:
        base = next((b for b in (root, root / folder) if (b / files[0]).is_file()), None)
        if base is None:
            continue
        data, labels = [], []
        for f in files:
            p = base / f
            if not p.is_file():
                continue
            x, y = read_cifar_batch(p, label_key, n_classes)   # restricted unpickler: no code from the file
            data.append(x)
            labels.append(y)
        X = np.concatenate(data)
        y = np.concatenate(labels)
        if n > X.shape[0]:
            raise NtkcheckError(f"{base} holds {X.shape[0]} training images; {n} are needed")
        idx = np.random.default_rng([seed, 32]).permutation(X.shape[0])[:n]
        imgs = _normalise(X[idx].reshape(-1, 3, 32, 32))
        return Inputs(imgs, y[idx], f"{name} training images from {base.name}/ (torchvision format), {n} drawn "
                                    f"with seed {seed}, CIFAR mean/std normalised")
    raise NtkcheckError(f"--images {root}: no CIFAR-10 (cifar-10-batches-py/data_batch_1) or CIFAR-100 "
                        "(cifar-100-python/train) batches found")


def natural_images(n: int, *, seed: int = 0) -> Inputs:
    """``n`` seeded 32×32 crops of scikit-learn's two sample photos (china.jpg, flower.jpg; 427×640 RGB).
    Label = 5·(photo) + (horizontal fifth of the crop's left edge): 10 classes."""
    from sklearn.datasets import load_sample_images

    photos = [np.asarray(im, dtype=np.uint8) for im in load_sample_images().images]
    rng = np.random.default_rng([seed, 33])
    which = rng.integers(0, len(photos), n)
    out = np.empty((n, 3, 32, 32), dtype=np.uint8)
    labels = np.empty(n, dtype=np.int64)
    for k, w in enumerate(which):
        H, W, _ = photos[w].shape
        i, j = int(rng.integers(0, H - 32 + 1)), int(rng.integers(0, W - 32 + 1))
        out[k] = photos[w][i:i + 32, j:j + 32].transpose(2, 0, 1)
        labels[k] = 5 * int(w) + min(4, j * 5 // (W - 32 + 1))
    return Inputs(_normalise(out), labels, f"bundled natural images: {n} random 32x32 crops (seed {seed}) of "
                                           "sklearn.datasets.load_sample_images (china.jpg, flower.jpg), labels = "
                                           "photo x horizontal fifth (10 classes), CIFAR mean/std normalised")


def load_inputs(images: str | Path | None, n: int = 512, *, seed: int = 0) -> Inputs:
    """CIFAR from ``images`` when given, else :func:`natural_images`."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise NtkcheckError(f"number of input images must be a positive integer, got {n!r}")
    return read_cifar(images, n, seed=seed) if images is not None else natural_images(n, seed=seed)


def image_patches(inputs: Inputs, n: int, *, seed: int) -> np.ndarray:
    """TE-NAS's R_N inputs (TE-NAS §2.3): ``n`` random 3×3 crops (no padding) of one random colour channel of
    the (already normalised) images, shape (n, 1, 3, 3) float32."""
    rng = np.random.default_rng([seed, 3])
    m = inputs.images.shape[0]
    k, c = rng.integers(0, m, n), rng.integers(0, 3, n)
    i, j = rng.integers(0, 30, n), rng.integers(0, 30, n)
    di, dj = np.meshgrid(np.arange(3), np.arange(3), indexing="ij")
    P = inputs.images[k[:, None, None], c[:, None, None], i[:, None, None] + di, j[:, None, None] + dj]
    return P[:, None].astype(np.float32)


#: columns of :func:`flat_rows`: 3 channels × 8 × 8 after 4×4 average pooling
FLAT_DIM = 192


def flat_rows(inputs: Inputs, n: int) -> np.ndarray:
    """The data matrix of the fully connected analogs: the first ``n`` images, 4×4 average-pooled to 3×8×8,
    flattened (d = 192), rows scaled to unit norm (contract §1), float64."""
    x = inputs.images[:n].astype(np.float64)
    if x.shape[0] < n:
        raise NtkcheckError(f"the input source has {x.shape[0]} images; {n} are needed")
    x = x.reshape(n, 3, 8, 4, 8, 4).mean(axis=(3, 5)).reshape(n, -1)
    return x / np.linalg.norm(x, axis=1, keepdims=True)
