"""Groups of blocks from a signal streamed piece by piece, and their transform.

A long signal reaches the coders in pieces (a file read block by block); the coders code it
in groups of ``chunk_blocks`` blocks, each range-coded as a segment of its own.
:class:`BlockGroups` regroups the pieces; :class:`GroupTransform` gives a group's
coefficients for each basis the coders of a run use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["CHUNK_BLOCKS", "BlockGroups", "group_blocks", "CoefficientGroup", "GroupTransform"]

#: blocks per group in the streaming passes
CHUNK_BLOCKS = 4096


class BlockGroups:
    """Regroup consecutive pieces of a signal into groups of ``chunk_blocks`` blocks, as they
    are pushed (so one read of a file can feed several consumers).

    The mean is removed; the last block is completed with zeros. :meth:`push` and
    :meth:`finish` return lists of ``(blocks, n_valid)``: ``blocks`` of shape (m, block) with
    ``m == chunk_blocks`` except in the last group, ``n_valid`` how many of its ``m * block``
    samples are signal (the rest is padding).

    With ``centred=False`` the samples are left as they are (the last block is completed
    with the mean, zeros once it is removed), and a group that lies within one piece is
    that piece's samples, not a copy: for a consumer that removes the mean itself, where a
    copy of every sample would cost more than the rest of its work on them.
    """

    def __init__(self, block: int, *, mean: float, chunk_blocks: int = CHUNK_BLOCKS,
                 centred: bool = True) -> None:
        self.block, self.mean, self.chunk_blocks = block, mean, chunk_blocks
        self.centred = centred
        self._size = chunk_blocks * block
        self._group = np.empty(self._size)
        self._fill = 0

    def push(self, piece: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """The groups the next piece (shape (k,)) completes."""
        # each group is filled in place with the samples (minus the mean): one pass per
        # sample, however the pieces fall
        x = np.asarray(piece, dtype=np.float64).reshape(-1)
        size, done, start = self._size, [], 0
        shape = (self.chunk_blocks, self.block)
        while start < x.size:
            if not self.centred and not self._fill and x.size - start >= size:
                done.append((x[start: start + size].reshape(shape), size))
                start += size
                continue
            n = min(size - self._fill, x.size - start)
            into = self._group[self._fill: self._fill + n]
            if self.centred:
                np.subtract(x[start: start + n], self.mean, out=into)
            else:
                into[:] = x[start: start + n]
            self._fill += n
            start += n
            if self._fill == size:
                done.append((self._group.reshape(shape), size))
                self._group = np.empty(size)
                self._fill = 0
        return done

    def finish(self) -> list[tuple[np.ndarray, int]]:
        """The last, partly filled group (if any)."""
        fill = self._fill
        if not fill:
            return []
        m = -(-fill // self.block)
        group = self._group
        group[fill: m * self.block] = 0.0 if self.centred else self.mean
        self._group, self._fill = np.empty(self._size), 0
        return [(group[: m * self.block].reshape(m, self.block), fill)]


def group_blocks(
    pieces: Iterable[np.ndarray], block: int, *, mean: float, chunk_blocks: int = CHUNK_BLOCKS,
    centred: bool = True,
) -> Iterator[tuple[np.ndarray, int]]:
    """Regroup consecutive pieces of a signal into groups of ``chunk_blocks`` blocks.

    The mean is removed and the last block completed with zeros; with ``centred=False`` the
    samples are left as they are, and a group within one piece is not copied
    (:class:`BlockGroups`).

    Yields
    ------
    blocks : np.ndarray [shape=(m, block)]
        ``m == chunk_blocks`` except in the last group.
    n_valid : int
        How many of the ``m * block`` samples are signal (the rest is padding).
    """
    groups = BlockGroups(block, mean=mean, chunk_blocks=chunk_blocks, centred=centred)
    for piece in pieces:
        yield from groups.push(piece)
    yield from groups.finish()


@dataclass
class CoefficientGroup:
    """One group of blocks, transformed: what both passes of
    :func:`~sfm_audio.coding.coder.run_coders` take.

    ``coefs`` maps each basis to its active coefficients, shape (k, m); ``complete`` counts
    the blocks wholly of signal (all but a padded last block); ``tail`` holds that padded
    block's signal samples, mean removed (None when there is none); ``energy`` is the sum of
    the squared samples of the complete blocks, mean removed (0 unless asked for).
    """

    coefs: dict[bytes, np.ndarray]
    complete: int
    tail: np.ndarray | None
    energy: float


class GroupTransform:
    """The coefficients, per basis, of a group of blocks as :class:`BlockGroups` gives them
    with ``centred=False`` (a group within a piece is not copied).

    The mean is removed from the coefficients instead of the samples (``B (x - mean) =
    B x - (B 1) mean``). The bases in ``centre`` take the group with the mean removed from
    its samples (a copy): against their finest step the mean is so large that
    ``B x - (B 1) mean`` would lose digits the measured error needs. Each group is
    transformed whole, so its coefficients do not depend on where the pieces fall (a product
    or a sum split at a piece's edge would round differently).

    Parameters
    ----------
    bases : dict
        Basis rows, shape (k, n), by key.
    mean : float
    energy : bool
        Also sum the squared samples of the complete blocks (mean removed).
    centre : frozenset
        Keys of the bases that take the samples centred first.
    """

    def __init__(self, bases: dict[bytes, np.ndarray], *, mean: float, energy: bool,
                 centre: frozenset) -> None:
        self.bases, self.mean, self.want_energy, self.centre = bases, mean, energy, centre
        self.offsets = {key: (b.sum(axis=1) * mean)[:, np.newaxis] for key, b in bases.items()}
        self._ones = np.ones(0)

    def __call__(self, blocks: np.ndarray, n_valid: int) -> CoefficientGroup:
        """The group ``blocks`` (shape (m, n)), ``n_valid`` of its samples signal."""
        m, block = blocks.shape
        centred = blocks - self.mean if self.centre else None
        coefs = {}
        for key, b in self.bases.items():
            if key in self.centre:
                coefs[key] = b @ centred.T
            else:
                coefs[key] = b @ blocks.T
                coefs[key] -= self.offsets[key]
        x = blocks.reshape(-1)
        complete = n_valid // block
        tail = None if complete == m else x[complete * block: n_valid] - self.mean
        energy = self._centred_energy(x[: complete * block]) if self.want_energy else 0.0
        return CoefficientGroup(coefs, complete, tail, energy)

    def _centred_energy(self, x: np.ndarray) -> float:
        """``sum((x - mean)**2)`` from the sums of ``x`` and ``x**2``, without a copy; when
        the mean is so large that those terms would cancel (more than 6 digits), from the
        difference itself."""
        mu, n = self.mean, x.size
        if not mu:
            return float(x @ x)
        if self._ones.size < n:  # the sum as a dot product: BLAS, twice numpy's sum's speed
            self._ones = np.ones(n)
        energy = float(x @ x) - 2.0 * mu * float(x @ self._ones[:n]) + n * mu * mu
        if n * mu * mu > 1e6 * max(energy, 0.0):
            d = x - mu
            energy = float(d @ d)
        return energy
