"""The MDCT (sine window, 50 % overlap, time-domain aliasing cancellation) as a transform.

With ``n`` coefficients per hop of ``n`` samples and a window of ``2n``, the orthonormal MDCT
factors into an orthogonal *fold* followed by a DCT-IV of each block: around every point
``(t + 1/2) n`` the fold mixes the mirror pairs ``x[c - 1 - i], x[c + i]`` (``i < n / 2``)
with a 2 x 2 rotation made of window values (``w[i]^2 + w[n-1-i]^2 = 1``, Princen–Bradley).
The coder of :mod:`.coder` therefore codes MDCT coefficients by coding the folded signal with
the DCT-IV basis, and the decoder unfolds; the whole chain is orthogonal, so quantization
error in the coefficients is error in the signal.

Frames: frame ``t`` (``t = -1 .. T - 1``, ``T = ceil(L / n)``) covers samples
``t n .. t n + 2 n - 1`` of the signal zero-padded on both sides, so the signal of ``L``
samples gives ``T + 1`` frames and is rebuilt exactly from them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import scipy.fft

from .._errors import ParameterError
from .coder import BlockCoder, CodingResult, run_coders
from .groups import CHUNK_BLOCKS
from .transforms import coefficient_variances, validate_block

__all__ = [
    "sine_window",
    "mdct_matrix",
    "mdct_variances",
    "dct4_matrix",
    "validate_mdct_block",
    "Folder",
    "Unfolder",
    "mdct",
    "imdct",
    "run_mdct_coders",
    "run_transform_coders",
]


def validate_mdct_block(n: int, *, name: str = "block") -> int:
    """Check an MDCT hop size: an even integer >= 2."""
    n = validate_block(n, name=name)
    if n % 2:
        raise ParameterError(f"{name}={n} must be even for the MDCT", param=name)
    return n


def sine_window(n: int) -> np.ndarray:
    """The MDCT's sine window of ``2 n`` samples, ``w[j] = sin(pi (j + 1/2) / (2 n))``.

    Returns
    -------
    w : np.ndarray [shape=(2 n,)]
        Symmetric, with ``w[j]^2 + w[j + n]^2 = 1`` (Princen–Bradley).
    """
    n = validate_mdct_block(n, name="n")
    return np.sin(np.pi * (np.arange(2 * n) + 0.5) / (2 * n))


def mdct_matrix(n: int) -> np.ndarray:
    """Orthonormal MDCT basis with the sine window, ``n`` coefficients of ``2 n`` samples.

    ``M[k, j] = sqrt(2 / n) w[j] cos(pi / n (j + 1/2 + n/2) (k + 1/2))``; the rows are
    orthonormal and the frames at hop ``n`` together form an orthogonal transform (TDAC).

    Returns
    -------
    M : np.ndarray [shape=(n, 2 n)]
    """
    w = sine_window(n)
    k = np.arange(n)[:, None] + 0.5
    j = np.arange(2 * n)[None, :] + 0.5 + n / 2
    return np.sqrt(2.0 / n) * w * np.cos(np.pi / n * j * k)


def mdct_variances(cov: np.ndarray) -> np.ndarray:
    """Variances of the MDCT coefficients of frames whose ``2 n`` samples have covariance
    ``cov``: ``diag(M cov M^T)`` with ``M = mdct_matrix(n)``.

    Parameters
    ----------
    cov : np.ndarray [shape=(2 n, 2 n)]
        Covariance of windows of ``2 n`` samples (e.g. ``BlockCovariance(2 n, hop=n)``).

    Returns
    -------
    variances : np.ndarray [shape=(n,)]
    """
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] % 2:
        raise ParameterError(f"cov must be (2 n, 2 n), got shape {cov.shape}")
    return coefficient_variances(cov, mdct_matrix(cov.shape[0] // 2))


def dct4_matrix(n: int) -> np.ndarray:
    """Orthonormal (and symmetric) DCT-IV matrix, ``sqrt(2/n) cos(pi/n (j+1/2)(k+1/2))``.

    Returns
    -------
    D : np.ndarray [shape=(n, n)]
        ``D @ u`` equals ``scipy.fft.dct(u, type=4, norm="ortho")``; ``D @ D = I``.
    """
    n = validate_block(n, name="n")
    k = np.arange(n) + 0.5
    return np.sqrt(2.0 / n) * np.cos(np.pi / n * np.outer(k, k))


class _Butterfly:
    """The fold of one region of ``n`` samples into two halves ``(p, q)`` and its inverse."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.h = n // 2
        w = sine_window(n)
        i = np.arange(self.h)
        self.s = w[i]            # weight of z[i] in q[i]
        self.c = w[n - 1 - i]    # weight of z[n-1-i] in q[i]
        self.i = i

    def fold(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regions ``Z`` (m, n) -> ``P, Q`` (m, n/2) each."""
        n, i, s, c = self.n, self.i, self.s, self.c
        lo, hi = Z[:, i], Z[:, n - 1 - i]
        Q = s * lo - c * hi
        P = (-c * lo - s * hi)[:, ::-1]
        return P, Q

    def unfold(self, P: np.ndarray, Q: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`fold` (the 2 x 2 map is its own inverse)."""
        n, i, s, c = self.n, self.i, self.s, self.c
        Pr = P[:, ::-1]
        Z = np.empty((P.shape[0], n))
        Z[:, i] = s * Q - c * Pr
        Z[:, n - 1 - i] = -c * Q - s * Pr
        return Z


class Folder:
    """Fold a signal given in pieces into the DCT-IV inputs of its MDCT frames.

    Each folded row ``u`` of ``n`` values satisfies ``dct4_matrix(n) @ u = mdct_matrix(n) @
    frame``. Call :meth:`push` with consecutive pieces (mean already removed) and
    :meth:`finish` once; together they yield ``ceil(L / n) + 1`` rows.
    """

    def __init__(self, n: int) -> None:
        self.n = validate_mdct_block(n)
        self._bf = _Butterfly(self.n)
        self._carry = np.zeros(0)
        self._q = np.zeros(self.n // 2)  # Q of the previous region (zero before the start)
        self.samples = 0

    def _rows(self, Z: np.ndarray) -> np.ndarray:
        P, Q = self._bf.fold(Z)
        prev = np.vstack([self._q[None, :], Q[:-1]])
        self._q = Q[-1].copy()
        return np.hstack([P, prev])

    def push(self, y: np.ndarray) -> np.ndarray:
        """Rows completed by the next piece, shape (m, n)."""
        y = np.asarray(y, dtype=np.float64)
        self.samples += y.size
        x = np.concatenate([self._carry, y])
        m = x.size // self.n
        self._carry = x[m * self.n:]
        if m == 0:
            return np.zeros((0, self.n))
        return self._rows(x[: m * self.n].reshape(m, self.n))

    def finish(self) -> np.ndarray:
        """The last rows: the zero-padded final region (if any) and the closing frame."""
        rows = []
        if self._carry.size:
            region = np.zeros((1, self.n))
            region[0, : self._carry.size] = self._carry
            self._carry = np.zeros(0)
            rows.append(self._rows(region))
        zero = np.zeros(self.n // 2)
        rows.append(np.concatenate([zero, self._q])[None, :])
        return np.vstack(rows)

    def run(self, pieces: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Fold every piece, then finish: an iterator of row blocks, each shape (m, n)."""
        for piece in pieces:
            rows = self.push(piece)
            if rows.size:
                yield rows
        yield self.finish()


class Unfolder:
    """Rebuild a signal from folded rows (the inverse of :class:`Folder`), row by row.

    Feed rows in order with :meth:`push`; it returns the signal regions they complete. The
    halves of the first and last rows that hold no signal (zero in an exact fold) are summed
    into :attr:`padding_energy`, so a coder's error can be split into signal and padding.
    """

    def __init__(self, n: int) -> None:
        self.n = validate_mdct_block(n)
        self._bf = _Butterfly(self.n)
        self._p: np.ndarray | None = None  # P half of the previous row
        self.padding_energy = 0.0

    def push(self, rows: np.ndarray) -> np.ndarray:
        """Signal regions completed by ``rows`` (shape (m, n)), shape (k * n,)."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.n)
        if rows.shape[0] == 0:
            return np.zeros(0)
        h = self.n // 2
        if self._p is None:  # the first frame: its Q half lies before the signal
            self.padding_energy += float(rows[0, h:] @ rows[0, h:])
            self._p = rows[0, :h]
            rows = rows[1:]
            if rows.shape[0] == 0:
                return np.zeros(0)
        P = np.vstack([self._p[None, :], rows[:-1, :h]])
        self._p = rows[-1, :h].copy()
        return self._bf.unfold(P, rows[:, h:]).reshape(-1)

    def finish(self) -> None:
        """Count the last row's P half (after the signal's end) as padding."""
        if self._p is not None:
            self.padding_energy += float(self._p @ self._p)
            self._p = None


def mdct(y: np.ndarray, *, n: int) -> np.ndarray:
    """MDCT of a signal (sine window, hop ``n``, orthonormal), zero-padded at both ends.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    n : int, even, >= 2
        Coefficients per frame (the hop); the window has ``2 n`` samples.

    Returns
    -------
    X : np.ndarray [shape=(n, ceil(n_samples / n) + 1)]
        Frame ``t`` (column ``t``) holds ``mdct_matrix(n) @ x[(t-1) n : (t+1) n]``.

    Examples
    --------
    >>> y = np.random.default_rng(0).standard_normal(100)
    >>> X = mdct(y, n=8)
    >>> X.shape, bool(np.allclose(imdct(X, length=100), y))
    ((8, 14), True)
    """
    n = validate_mdct_block(n, name="n")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ParameterError(f"y must have shape (n_samples,) with n_samples >= 1, got {y.shape}")
    if not np.isfinite(y).all():
        raise ParameterError("y must be finite (found NaN or Inf)")
    rows = np.vstack(list(Folder(n).run([y])))
    return scipy.fft.dct(rows, type=4, norm="ortho", axis=-1).T


def imdct(X: np.ndarray, *, length: int) -> np.ndarray:
    """Inverse of :func:`mdct` (windowed overlap-add, aliasing cancelled).

    Parameters
    ----------
    X : np.ndarray [shape=(n, n_frames)]
    length : int
        Samples of the signal to return (at most ``(n_frames - 1) * n``).

    Returns
    -------
    y : np.ndarray [shape=(length,)]
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ParameterError(f"X must have shape (n, n_frames >= 2), got {X.shape}")
    n = validate_mdct_block(X.shape[0], name="n")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or not (
        0 < length <= (X.shape[1] - 1) * n
    ):
        raise ParameterError(f"{length=} must be in [1, {(X.shape[1] - 1) * n}]", param="length")
    rows = scipy.fft.dct(X.T, type=4, norm="ortho", axis=-1)
    return Unfolder(n).push(rows)[:length]


def run_mdct_coders(
    pieces: Callable[[], Iterable[np.ndarray]],
    block: int,
    mean: float,
    coders: list[BlockCoder],
    *,
    samples: int,
    chunk_blocks: int = CHUNK_BLOCKS,
    on_decoded: Callable[[int, np.ndarray], None] | None = None,
) -> list[CodingResult]:
    """Run block coders whose basis is the DCT-IV on the folded signal: MDCT coding.

    The signal (mean removed) is folded on the fly and handed to the project's two-pass
    coder (:func:`sfm_audio.coding.coder.run_coders`); every coder's
    decoded rows are unfolded. The distortion reported is the signal's: the error the
    coder made in the padding halves and in the zero-padded tail is taken out.

    Parameters
    ----------
    pieces : callable
        Fresh iterator over consecutive pieces of the signal.
    block : int, even
        MDCT hop ``n`` (coefficients per frame).
    mean : float
        Signal mean, removed before folding and added back after unfolding.
    coders : list of BlockCoder
        With ``dct4_matrix(block)`` as basis and the MDCT coefficient variances.
    samples : int
        Signal length.
    chunk_blocks : int
        Frames per range-coded segment.
    on_decoded : callable or None
        ``on_decoded(coder_index, samples)`` receives the decoded signal piece by piece.

    Returns
    -------
    list of CodingResult
    """
    block = validate_mdct_block(block)

    def folded():
        for rows in Folder(block).run(x - mean for x in pieces()):
            yield rows.reshape(-1)

    unfolders = [Unfolder(block) for _ in coders]
    emitted = [0] * len(coders)
    tail = np.zeros(len(coders))

    def receive(k: int, rows: np.ndarray) -> None:
        signal = unfolders[k].push(rows)
        keep = max(0, min(signal.size, samples - emitted[k]))
        extra = signal[keep:]
        tail[k] += float(extra @ extra)
        if on_decoded is not None and keep:
            on_decoded(k, signal[:keep] + mean)
        emitted[k] += signal.size

    folded_samples = (-(-samples // block) + 1) * block
    results, _ = run_coders(folded, block, 0.0, coders, samples=folded_samples,
                            chunk_blocks=chunk_blocks, on_decoded=receive)
    out = []
    for k, res in enumerate(results):
        unfolders[k].finish()
        error = res.distortion * folded_samples - unfolders[k].padding_energy - tail[k]
        out.append(dataclasses.replace(
            res, samples=samples, bits=res.bits, distortion=max(0.0, error) / samples,
        ))
    return out


def run_transform_coders(
    pieces: Callable[[], Iterable[np.ndarray]],
    block: int,
    mean: float,
    coders: list[BlockCoder],
    *,
    samples: int,
    chunk_blocks: int = CHUNK_BLOCKS,
    on_decoded: Callable[[int, np.ndarray], None] | None = None,
) -> list[CodingResult]:
    """:func:`~sfm_audio.coding.coder.run_coders` for block and MDCT coders mixed.

    Coders whose ``transform`` is ``"mdct"`` go through :func:`run_mdct_coders`, the others
    through ``run_coders``; results (and ``on_decoded`` indices) keep the order of
    ``coders``.
    """
    groups = {
        lapped: [k for k, c in enumerate(coders) if (c.transform == "mdct") == lapped]
        for lapped in (False, True)
    }
    results: list[CodingResult | None] = [None] * len(coders)
    for lapped, ks in groups.items():
        if not ks:
            continue
        callback = None
        if on_decoded is not None:
            def callback(i: int, s: np.ndarray, ks=ks) -> None:
                on_decoded(ks[i], s)
        subset = [coders[k] for k in ks]
        if lapped:
            found = run_mdct_coders(pieces, block, mean, subset, samples=samples,
                                    chunk_blocks=chunk_blocks, on_decoded=callback)
        else:
            found, _ = run_coders(pieces, block, mean, subset, samples=samples,
                                  chunk_blocks=chunk_blocks, on_decoded=callback)
        for k, res in zip(ks, found):
            results[k] = res
    return results  # type: ignore[return-value]
