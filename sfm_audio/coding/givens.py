"""Sending a KLT basis at an honest price: quantized Givens angles.

An orthonormal ``n x n`` basis has ``n (n - 1) / 2`` degrees of freedom. It is written as a
product of Givens rotations (a QR factorisation by rotations, with the basis vectors' signs
chosen so that no sign bits are needed); each angle is sent with ``bits`` bits, and the decoder
multiplies the rotations of the quantized angles back into a basis that is orthonormal to
rounding. The encoder codes with exactly that decoded basis, so nothing is hidden.

The angle precision is an encoder decision: :meth:`BasisQuantizer.send` picks, among 4 to 16
bits, the one that minimises the angles' bits plus the Gaussian rate the coefficients of the decoded
basis need at the distortion the exact basis would reach (a coarser basis leaks variance
between coefficients). The chosen precision is sent in :data:`PRECISION_BITS` bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import drot

from .._errors import ParameterError
from ..validate import int_at_least, positive_int
from .waterfill import reverse_waterfill

__all__ = [
    "ANGLE_BITS",
    "PRECISION_BITS",
    "SentBasis",
    "BasisQuantizer",
    "givens_angles",
    "basis_from_angles",
    "quantize_angles",
    "send_klt_basis",
]

#: angle precisions the encoder chooses from
ANGLE_BITS = tuple(range(4, 17))
#: bits that tell the decoder the chosen precision
PRECISION_BITS = 4


def _pairs(n: int) -> list[tuple[int, int]]:
    """(column j, row i) of each rotation, in the order the factorisation applies them."""
    return [(j, i) for j in range(n - 1) for i in range(n - 1, j, -1)]


def givens_angles(basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Givens angles of an orthonormal basis (rows are basis vectors).

    Parameters
    ----------
    basis : np.ndarray [shape=(n, n)]
        Orthonormal.

    Returns
    -------
    angles : np.ndarray [shape=(n (n - 1) / 2,)]
        In ``(-pi, pi]``; :func:`basis_from_angles` rebuilds ``basis`` from them, up to the
        signs of its rows.
    signs : np.ndarray [shape=(n,)]
        ``+1`` or ``-1``: ``basis_from_angles(angles) == signs[:, None] * basis``. Basis
        vectors of a KLT may be negated freely, so only the angles are sent.
    """
    q = np.ascontiguousarray(np.asarray(basis, dtype=np.float64).T)  # columns: the vectors
    n = q.shape[0]
    angles = []
    for j, i in _pairs(n):
        theta = np.arctan2(q[i, j], q[i - 1, j])
        # rows i-1, i <- (c top + s bottom, c bottom - s top)
        q[i - 1], q[i] = drot(q[i - 1], q[i], np.cos(theta), np.sin(theta))
        angles.append(theta)
    d = np.diag(q)
    return np.array(angles), np.where(d < 0, -1.0, 1.0)


def basis_from_angles(angles: np.ndarray, n: int) -> np.ndarray:
    """The orthonormal basis (rows are basis vectors) of ``n (n - 1) / 2`` Givens angles.

    The decoder's computation: the same operations in the same order on every machine
    (BLAS ``drot``), so encoder and decoder hold the same basis.
    """
    n = int_at_least(n, "n", 1)
    angles = np.asarray(angles, dtype=np.float64)
    pairs = _pairs(n)
    if angles.shape != (len(pairs),):
        raise ParameterError(
            f"expected {len(pairs)} angles for n={n}, got shape {angles.shape}", param="angles")
    q = np.eye(n)
    # basis^T = G_1^T ... G_K^T: apply the transposed rotations to the identity, last first
    for (_, i), theta in zip(reversed(pairs), angles[::-1]):
        q[i - 1], q[i] = drot(q[i - 1], q[i], np.cos(theta), -np.sin(theta))
    return q.T


def quantize_angles(angles: np.ndarray, bits: int) -> np.ndarray:
    """Angles rounded to ``2**bits`` levels over one turn (what the decoder receives)."""
    bits = positive_int(bits, "bits")
    step = 2.0 * np.pi / 2**bits
    return np.rint(np.asarray(angles, dtype=np.float64) / step) * step


@dataclass(frozen=True)
class SentBasis:
    """A KLT basis as the decoder rebuilds it, and what sending it costs.

    Attributes
    ----------
    basis : np.ndarray [shape=(n, n)]
        The decoded basis (orthonormal to rounding); the encoder codes with it.
    variances : np.ndarray [shape=(n,)]
        Coefficient variances in that basis.
    angle_bits : int
        Bits per Givens angle.
    side_bits : int
        ``angle_bits * n (n - 1) / 2 + PRECISION_BITS``.
    """

    basis: np.ndarray
    variances: np.ndarray
    angle_bits: int
    side_bits: int


class BasisQuantizer:
    """The decoded bases of one KLT at every angle precision, computed once each.

    Parameters
    ----------
    basis : np.ndarray [shape=(n, n)]
        Exact KLT basis (rows), the eigenvectors of a covariance ``C``.
    variances : np.ndarray [shape=(n,)]
        Its eigenvalues, so that ``C = basis.T @ diag(variances) @ basis``.
    """

    def __init__(self, basis: np.ndarray, variances: np.ndarray) -> None:
        self.basis = np.asarray(basis, dtype=np.float64)
        self.eigenvalues = np.asarray(variances, dtype=np.float64)
        self.n = self.basis.shape[0]
        self.cov = self.basis.T @ (self.eigenvalues[:, None] * self.basis)
        self.angles, _ = givens_angles(self.basis)  # KLT vectors may be negated: no sign bits
        self._decoded: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def decoded(self, bits: int) -> tuple[np.ndarray, np.ndarray]:
        """Decoded basis at ``bits`` bits per angle and its coefficient variances."""
        if bits not in self._decoded:
            b = basis_from_angles(quantize_angles(self.angles, bits), self.n)
            v = np.maximum(np.einsum("ij,jk,ik->i", b, self.cov, b), 0.0)
            self._decoded[bits] = (b, v)
        return self._decoded[bits]

    def send(self, *, rate: float, samples: int) -> SentBasis:
        """The precision with the fewest total bits for a coder at ``rate`` over ``samples``.

        Total = angle bits + ``samples`` x the Gaussian rate the decoded basis's coefficients
        need at the distortion the exact basis reaches at ``rate``. Precisions are tried from
        4 bits up and the search stops after two that cost more than the best.
        """
        samples = positive_int(samples, "samples")
        target = reverse_waterfill(self.eigenvalues, rate=rate).distortion
        best, worse = None, 0
        for bits in ANGLE_BITS:
            b, v = self.decoded(bits)
            side = bits * self.angles.size + PRECISION_BITS
            need = reverse_waterfill(v, distortion=target).rate if target > 0 else 0.0
            total = need * samples + side
            if best is None or total < best[0]:
                best, worse = (total, SentBasis(b, v, bits, side)), 0
            else:
                worse += 1
                if worse == 2:
                    break
        return best[1]


def send_klt_basis(
    basis: np.ndarray, variances: np.ndarray, *, rate: float, samples: int
) -> SentBasis:
    """Quantize a KLT basis to the angle precision that costs the fewest bits in total.

    See :meth:`BasisQuantizer.send`; use a :class:`BasisQuantizer` directly to serve several
    rates from one factorisation.

    Returns
    -------
    SentBasis
    """
    return BasisQuantizer(basis, variances).send(rate=rate, samples=samples)
