"""The operational transform coder: allocate, quantize, range-code, decode, measure.

For one transform and one target rate a :class:`BlockCoder` allocates bits by reverse
water-filling on the transform's coefficient variances, quantizes every active coefficient with
a uniform mid-tread quantizer of step ``sqrt(12 theta)``, codes the indices with ``constriction``'s
range coder (one static model per coefficient, see :mod:`.entropy`), decodes them, checks them
against those sent, and measures the error on the coefficients (Parseval; the rebuilt blocks
only when asked for). Blocks arrive in fixed groups (``chunk_blocks`` blocks), so a long signal
is coded in two streaming passes: statistics, then each group range-coded as an independent
segment and decoded at once; working memory stays bounded whatever the length.

Everything the decoder needs is counted in the bits: a header (sample count, block size,
transform, reconstruction, chunk size, mean, step, length of the code), the basis for the KLT
(its Givens angles at the precision the encoder picks, :mod:`.givens`; the coder uses the
basis the decoder rebuilds from them), one active flag per coefficient, each active
coefficient's model (:data:`.entropy.MODEL_SIDE_BITS`), for centroid reconstruction its
offset, and the length of every range-coded segment. The groups, and their transform, come
from :mod:`.groups`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .._errors import ParameterError, SfmError
from ..threads import one_blas_thread
from ..validate import finite_float, positive_float, positive_int
from .entropy import ColumnModels, IndexStats, fit_models, new_decoder, new_encoder
from .givens import BasisQuantizer, SentBasis
from .groups import CHUNK_BLOCKS, GroupTransform, group_blocks
from .quantize import (
    OFFSET_BITS,
    centroid_offsets,
    dequantize,
    quantize,
    validate_reconstruction,
)
from .transforms import (
    TRANSFORMS,
    block_covariance,
    coefficient_variances,
    transform_matrix,
    validate_signal,
)
from .waterfill import WaterFilling, reverse_waterfill

__all__ = [
    "HEADER_BITS",
    "MAX_RATE",
    "BlockCoder",
    "CodingResult",
    "code_signal",
    "run_coders",
    "validate_rate",
    "validate_transform",
]

#: samples (64), block (16), transform (2), reconstruction (1), chunk_blocks (32),
#: mean (float64), step (float64), number of 32-bit code words (32)
HEADER_BITS = 64 + 16 + 2 + 1 + 32 + 64 + 64 + 32
#: largest target rate accepted, bits per sample
MAX_RATE = 16.0
#: bits that store one segment's length in 32-bit words
SEGMENT_LENGTH_BITS = 32


def validate_rate(rate: float) -> float:
    """Check a target rate: a number in (0, 16] bits per sample."""
    message = f"{rate=} must be a number of bits per sample in (0, 16]"
    try:
        value = finite_float(rate, "rate")
    except ParameterError:
        raise ParameterError(message, param="rate") from None
    if not 0 < value <= MAX_RATE:
        raise ParameterError(message, param="rate")
    return value


def validate_transform(transform: str) -> str:
    """Check a transform name: "klt", "dct" or "pcm"."""
    if transform not in TRANSFORMS:
        raise ParameterError(f"{transform=} must be one of {', '.join(TRANSFORMS)}",
                             param="transform")
    return transform


class BlockCoder:
    """Code blocks of one signal with one transform at one target rate.

    Parameters
    ----------
    basis : np.ndarray [shape=(n, n)]
        Orthonormal transform, basis vectors as rows. A KLT basis is sent as quantized Givens
        angles (:func:`.givens.send_klt_basis`) and the coder uses the basis the decoder
        rebuilds from them.
    variances : np.ndarray [shape=(n,)]
        Coefficient variances used for the allocation; for the KLT, the eigenvalues that go
        with ``basis`` (the allocation then uses the variances of the decoded basis).
    rate : float
        Target bits per sample.
    transform : {"klt", "dct", "pcm"}
        Only decides whether the basis is side information (KLT) or known to the decoder.
    reconstruction : {"midpoint", "centroid"}
        Midpoint ``i * step``; or each non-zero index pulled toward zero by a per-coefficient
        offset (the least-squares centroid of its non-zero cells, sent with 8 bits).
    samples : int or None
        Signal length; needed for the KLT, whose angle precision is chosen for it.
    quantizer : BasisQuantizer or None
        For the KLT: the factorisation of ``basis`` (pass one to coders of several rates to
        factorise once); made here when not given.
    step : float or None
        Quantize every coefficient with this step instead of the allocation's (``rate`` then
        only labels the result): coders compared at one step (:mod:`.gains`).
    """

    def __init__(
        self, basis: np.ndarray, variances: np.ndarray, *, rate: float, transform: str,
        reconstruction: str = "midpoint", samples: int | None = None,
        quantizer: BasisQuantizer | None = None, step: float | None = None,
    ) -> None:
        self.transform = validate_transform(transform)
        self.reconstruction = validate_reconstruction(reconstruction)
        self.rate_target = validate_rate(rate)
        basis = np.asarray(basis, dtype=np.float64)
        self.n = basis.shape[0]
        self.sent: SentBasis | None = None
        if transform == "klt":
            if samples is None:
                raise ParameterError("samples= is needed to choose the KLT angle precision",
                                     param="samples")
            quantizer = quantizer or BasisQuantizer(basis, variances)
            self.sent = quantizer.send(rate=self.rate_target,
                                       samples=positive_int(samples, "samples"))
            basis, variances = self.sent.basis, self.sent.variances
        self.basis = basis
        self.allocation: WaterFilling = reverse_waterfill(variances, rate=self.rate_target)
        self.active = self.allocation.active
        self.step = float(np.sqrt(12.0 * self.allocation.theta))
        if step is not None:  # one given step for every coefficient, as PCM has (gains)
            self.active = np.ones(self.n, dtype=bool)
            self.step = positive_float(step, "step")
        self.steps = np.where(self.active, self.step, np.inf)
        #: the active coefficients: the only ones transformed, quantized, coded and rebuilt
        self.cols = np.flatnonzero(self.active)
        self._inverse = np.full(self.cols.size, 1.0 / self.step)
        self.stats = IndexStats(self.n, gaps=self.reconstruction == "centroid")
        self.models: list | None = None
        self._columns: ColumnModels | None = None
        self._rows: np.ndarray | None = None
        self.offsets: np.ndarray | None = None
        self.payload_words = 0
        self.segments = 0

    # -- the two passes ---------------------------------------------------------------
    # The coefficients of the active rows come one row per coefficient, shape (k, m) for m
    # blocks (k = cols.size): each row contiguous, as the statistics reduce it and the range
    # coder takes it. The methods without "_active" take whole blocks, shape (m, n).
    def coefficients(self, blocks: np.ndarray) -> np.ndarray:
        """Transform coefficients of blocks, shape (m, n) -> (m, n)."""
        return blocks @ self.basis.T

    def indices(self, coefficients: np.ndarray) -> np.ndarray:
        """Quantization indices of coefficients, shape (m, n), int64."""
        return quantize(coefficients, self.steps)

    def observe(self, coefficients: np.ndarray) -> None:
        """Pass 1: gather the statistics the models are fitted to (shape (m, n))."""
        self.observe_active(coefficients[:, self.cols].T)

    def observe_active(self, coefficients: np.ndarray) -> None:
        """:meth:`observe` given the active coefficients only, shape (cols.size, m)."""
        self.observe_scaled(coefficients * self._inverse[:, np.newaxis])

    def observe_scaled(self, scaled: np.ndarray) -> None:
        """:meth:`observe_active` given the active coefficients over the step."""
        self.stats.update_columns(scaled, np.rint(scaled).astype(np.int64), self.cols)

    def fit(self) -> None:
        """Fit the per-coefficient models (and centroid offsets) after pass 1."""
        self.models = fit_models(self.stats, self.active)
        self._columns = ColumnModels([self.models[j] for j in self.cols])
        if self.reconstruction == "centroid":
            self.offsets = np.where(
                self.active, centroid_offsets(self.stats.sum_gap, self.stats.nonzero), 0.0
            )

    def code_segment(self, coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pass 2: range-code one group of blocks as a segment of its own, then decode it.

        Each segment is an independent range code (a decoder can start at any segment, and
        nothing but the segment in hand is ever kept), so memory does not grow with the
        signal. ``coefficients`` of shape (m, n); returns the indices sent and the indices
        the decoder read back, both of shape (m, n).
        """
        sent = np.rint(coefficients[:, self.cols].T * self._inverse[:, np.newaxis])
        sent = sent.astype(np.int64)
        received = self.code_and_decode_active(sent)
        full = np.zeros((2, sent.shape[1], self.n), dtype=np.int64)
        full[0][:, self.cols] = sent.T
        full[1][:, self.cols] = received.T
        return full[0], full[1]

    def code_active(self, sent: np.ndarray, *, spend: bool = False) -> bool:
        """Range-code the active coefficients' indices (shape (cols.size, m); integers, as
        int64 or as whole floats) as one segment, decode it, and return whether the decoder
        read back exactly ``sent`` (``spend``: whole floats ``sent`` may be overwritten)."""
        words, same = self._fitted().code(sent, spend=spend)
        self._count(words)
        return same

    def code_and_decode_active(self, sent: np.ndarray) -> np.ndarray:
        """:meth:`code_active`, returning the indices the decoder read back (shape
        (cols.size, m), int64) instead of comparing them."""
        columns = self._fitted()
        encoder = new_encoder()
        columns.encode(encoder, sent)
        words = encoder.get_compressed()
        self._count(words)
        return columns.decode(new_decoder(words), sent.shape[1])

    def _fitted(self) -> ColumnModels:
        if self._columns is None:
            raise SfmError("BlockCoder.fit() must run before code_segment()")
        return self._columns

    def _count(self, words: np.ndarray) -> None:
        self.payload_words += int(words.size)
        self.segments += 1

    def reconstruct(self, indices: np.ndarray) -> np.ndarray:
        """Blocks rebuilt from indices (mean not added), shape (m, n)."""
        return dequantize(indices, self.steps, offsets=self.offsets) @ self.basis

    def dequantize_active(self, indices: np.ndarray) -> np.ndarray:
        """The decoded values of the active coefficients from their indices, shape
        (cols.size, m)."""
        offsets = None if self.offsets is None else self.offsets[self.cols]
        return dequantize(indices.T, self.steps[self.cols], offsets=offsets).T

    def reconstruct_active(self, indices: np.ndarray) -> np.ndarray:
        """:meth:`reconstruct` from the active coefficients' indices, shape (cols.size, m);
        returns blocks of shape (m, n)."""
        if self._rows is None:
            self._rows = np.ascontiguousarray(self.basis[self.cols])
        return self.dequantize_active(indices).T @ self._rows

    # -- the bill ---------------------------------------------------------------------
    @property
    def side_bits(self) -> int:
        """Every bit of side information the decoder needs besides the range code."""
        bits = HEADER_BITS + self.n  # one active flag per coefficient
        bits += self.basis_bits
        if self.models is not None:
            bits += sum(m.side_bits for m in self.models)
        if self.reconstruction == "centroid":
            bits += OFFSET_BITS * int(self.active.sum())
        # each segment's length in words, so a decoder can find where the next one starts
        bits += SEGMENT_LENGTH_BITS * self.segments
        return bits

    @property
    def basis_bits(self) -> int:
        """Bits of the basis (the KLT's Givens angles and their precision; 0 otherwise)."""
        return 0 if self.sent is None else self.sent.side_bits

    @property
    def payload_bits(self) -> int:
        """Bits of the range-coded segments (whole 32-bit words)."""
        return 32 * self.payload_words

    @property
    def total_bits(self) -> int:
        return self.side_bits + self.payload_bits


@dataclass
class CodingResult:
    """What one transform at one rate spent and achieved.

    Attributes
    ----------
    transform : str
    rate_target : float
        Bits per sample asked for.
    theta, predicted_distortion : float
        Water level and Gaussian distortion ``D(theta)`` of the allocation.
    bits, side_bits, basis_bits : int
        Total bits (side information + range code), the side-information part, and the part
        of that which sends the basis (KLT only).
    angle_bits : int or None
        Precision of the KLT's Givens angles.
    samples : int
    distortion : float
        Measured mean squared error per sample (the decoder's indices are checked equal to
        the encoder's; a mismatch raises).
    """

    transform: str
    block: int
    rate_target: float
    theta: float
    predicted_distortion: float
    active: int
    samples: int
    bits: int
    side_bits: int
    basis_bits: int
    angle_bits: int | None
    distortion: float

    @property
    def bits_per_sample(self) -> float:
        return self.bits / self.samples

    @property
    def side_bits_per_sample(self) -> float:
        return self.side_bits / self.samples


def run_coders(
    pieces: Callable[[], Iterable[np.ndarray]],
    block: int,
    mean: float,
    coders: list[BlockCoder],
    *,
    samples: int,
    chunk_blocks: int = CHUNK_BLOCKS,
    on_decoded: Callable[[int, np.ndarray], None] | None = None,
    keep_indices: bool = False,
) -> tuple[list[CodingResult], list[tuple[np.ndarray, np.ndarray]] | None]:
    """Run the two passes of several coders that share one signal.

    Pass 1 gathers the statistics the models are fitted to; pass 2 range-codes each group of
    ``chunk_blocks`` blocks as its own segment, decodes it at once, checks the indices and
    measures the error (on the coefficients, :class:`_SquaredError`), so only one segment
    per coder is ever held. The results do not depend on how the pieces cut the signal.

    Parameters
    ----------
    pieces : callable
        Returns a fresh iterator over consecutive pieces (shape (k,)) of the signal; called
        once per pass.
    block : int
        Block size of every coder.
    mean : float
        Signal mean, removed before coding and added back after decoding.
    coders : list of BlockCoder
    samples : int
        Signal length.
    on_decoded : callable or None
        ``on_decoded(coder_index, samples)`` receives the decoded signal piece by piece.
    keep_indices : bool
        Also return, per coder, the encoded and the decoded indices (shape (n_blocks, n)).

    Returns
    -------
    results : list of CodingResult
    indices : list of (encoded, decoded) or None
    """
    # the products here are (4096, n) @ (n, n): BLAS threads would only fight each other
    with one_blas_thread():
        return _run_coders(pieces, block, mean, coders, samples=samples,
                           chunk_blocks=chunk_blocks, on_decoded=on_decoded,
                           keep_indices=keep_indices)


class _SquaredError:
    """One coder's squared error over the complete blocks, summed on its coefficients.

    The basis is orthonormal, so the blocks rebuilt from the indices differ from the signal
    by exactly what the coefficients do (Parseval), the inactive coefficients' whole energy
    included. With ``c`` a coefficient over the step and ``i`` its index, the error of a
    midpoint reconstruction is ``(i - c)**2``; a centroid one moves a non-zero ``i`` by
    ``offset`` toward zero, which adds ``offset**2 - 2 offset (|i| - |c|)`` (``i`` and ``c``
    have the same sign). So a few sums per coefficient give the error of every block
    without rebuilding one. Those of ``c**2`` and ``|i| - |c|`` were gathered in pass 1
    (the statistics the models are fitted to, over the same coefficients): only the padded
    last block's share is taken back out of them.
    """

    def __init__(self, coder: BlockCoder) -> None:
        stats, cols = coder.stats, coder.cols
        self.centroid = coder.reconstruction == "centroid"
        self.inactive = cols.size < coder.n
        self.rounding = np.zeros(cols.size)
        self.kept = float(stats.sum_sq[cols].sum())
        self.gap = stats.sum_gap[cols].copy()
        self.nonzero = stats.nonzero[cols].copy()
        self.samples = 0.0  # the padded last block's, measured on its samples

    def add(self, scaled: np.ndarray, sent: np.ndarray, complete: int) -> None:
        """Add a group: ``scaled`` (coefficients over the step) and ``sent`` (their
        indices, as floats), shape (k, m), of which the first ``complete`` blocks are wholly
        signal. ``scaled`` is overwritten."""
        if complete < scaled.shape[1]:  # the padded block: out of pass 1's sums
            c, i = scaled[:, complete:], sent[:, complete:]
            self.kept -= float((c * c).sum())
            if self.centroid:
                size = np.abs(i)
                self.gap -= np.where(size > 0, size - np.abs(c), 0.0).sum(axis=1)
                self.nonzero -= (size > 0).sum(axis=1)
            scaled, sent = scaled[:, :complete], sent[:, :complete]
        d = np.subtract(sent, scaled, out=scaled)
        self.rounding += np.einsum("ij,ij->i", d, d)

    def total(self, coder: BlockCoder, energy: float) -> float:
        """The whole squared error, given the complete blocks' energy (mean removed)."""
        error = self.rounding.sum()
        if self.centroid:
            offset = coder.offsets[coder.cols]
            error += (offset * offset * self.nonzero - 2.0 * offset * self.gap).sum()
        error *= coder.step**2
        if self.inactive:
            error += max(energy - coder.step**2 * self.kept, 0.0)
        return float(error) + self.samples


def _run_coders(pieces, block, mean, coders, *, samples, chunk_blocks, on_decoded,
                keep_indices):
    # coders with equal bases share one transform of each group; equal by value, not by
    # object: a basis that reached a worker by pickle is a new array in each coder there
    # (np.asarray of an unpickled array is a view), and the grouping (and so the last digits)
    # must not depend on where a part runs
    by_basis: dict[bytes, list[int]] = {}
    for k, coder in enumerate(coders):
        basis = np.ascontiguousarray(coder.basis)
        by_basis.setdefault(repr(basis.shape).encode() + basis.tobytes(), []).append(k)
    # per basis, only the coefficients some coder codes are computed (its rows of the
    # basis); each coder takes its own rows of them
    rows = {key: np.unique(np.concatenate([coders[k].cols for k in ks]))
            for key, ks in by_basis.items()}
    # A basis that serves one coder has its rows divided by that coder's step, so its
    # coefficients come out over the step, the form both passes use, without a pass of
    # their own to scale them. In Fortran order: (k, n) @ blocks.T then multiplies two
    # column-major operands, twice as fast as with the rows C-contiguous (k = 7 of n = 32).
    scaled = {key: len(ks) == 1 for key, ks in by_basis.items()}
    bases = {key: np.asfortranarray(
                coders[ks[0]].basis[rows[key]]
                * (coders[ks[0]]._inverse[:, np.newaxis] if scaled[key] else 1.0))
             for key, ks in by_basis.items()}
    # with inactive coefficients, the error needs the energy of the signal (pass 2)
    energy = any(coder.cols.size < coder.n for coder in coders)
    take = {k: (None if coders[k].cols.size == rows[key].size
                else np.searchsorted(rows[key], coders[k].cols))
            for key, ks in by_basis.items() for k in ks}

    # B x - (B 1) mean rounds to about eps |mean| sqrt(n): next to a basis's finest step, a
    # mean beyond 1e4 steps would show in the measured error (1e-9 of it and more); those
    # bases take the samples centred first, as a copy. (Decided per basis, from its own
    # coders, so that a report is the same whichever coders share a run.)
    centre = frozenset(key for key, ks in by_basis.items()
                       if abs(mean) > 1e4 * min(coders[k].step for k in ks))

    def groups(energy: bool):
        transform = GroupTransform(bases, mean=mean, energy=energy, centre=centre)
        for blocks, n_valid in group_blocks(pieces(), block, mean=mean,
                                            chunk_blocks=chunk_blocks, centred=False):
            yield transform(blocks, n_valid)

    def over_step(key, k, coefs):
        """Coder k's coefficients over its step, a new array it may overwrite."""
        if scaled[key]:
            return coefs
        own = coefs if take[k] is None else coefs[take[k]]
        return own * coders[k]._inverse[:, np.newaxis]

    for group in groups(False):
        for key, ks in by_basis.items():
            for k in ks:
                coders[k].observe_scaled(over_step(key, k, group.coefs[key]))
    for coder in coders:
        coder.fit()
    encoded: list[list[np.ndarray]] = [[] for _ in coders]
    decoded: list[list[np.ndarray]] = [[] for _ in coders]
    errors = [_SquaredError(coder) for coder in coders]
    match = np.ones(len(coders), dtype=bool)
    total_energy = 0.0
    for group in groups(energy):
        total_energy += group.energy
        n_valid = group.complete * block + (0 if group.tail is None else group.tail.size)
        for key, ks in by_basis.items():
            for k in ks:
                coder = coders[k]
                ratio = over_step(key, k, group.coefs[key])
                rounded = np.rint(ratio)
                errors[k].add(ratio, rounded, group.complete)  # (ratio is spent)
                rebuild = group.tail is not None or on_decoded is not None
                if keep_indices:
                    sent = rounded.astype(np.int64)
                    received = coder.code_and_decode_active(sent)
                    match[k] &= bool(np.array_equal(sent, received))
                    for store, part in ((encoded[k], sent), (decoded[k], received)):
                        whole = np.zeros((part.shape[1], coder.n), dtype=np.int64)
                        whole[:, coder.cols] = part.T
                        store.append(whole)
                else:
                    # the decoder's indices are these (checked; a mismatch raises below)
                    sent = rounded.astype(np.int64) if rebuild else None
                    match[k] &= coder.code_active(rounded, spend=True)
                if not rebuild:
                    continue
                if group.tail is not None:
                    last = coder.reconstruct_active(sent[:, -1:]).reshape(-1)
                    diff = last[: group.tail.size] - group.tail
                    errors[k].samples += float(diff @ diff)
                if on_decoded is not None:
                    rebuilt = coder.reconstruct_active(sent).reshape(-1)[:n_valid]
                    on_decoded(k, rebuilt + mean)
    results = []
    for k, coder in enumerate(coders):
        if not match[k]:
            raise SfmError(f"range decoding of the {coder.transform} code did not reproduce "
                           "the quantization indices")
        results.append(CodingResult(
            transform=coder.transform, block=coder.n, rate_target=coder.rate_target,
            theta=coder.allocation.theta, predicted_distortion=coder.allocation.distortion,
            active=int(coder.active.sum()), samples=samples, bits=coder.total_bits,
            side_bits=coder.side_bits, basis_bits=coder.basis_bits,
            angle_bits=None if coder.sent is None else coder.sent.angle_bits,
            distortion=errors[k].total(coder, total_energy) / samples,
        ))
    pairs = None
    if keep_indices:
        pairs = [
            (np.concatenate(e) if e else np.zeros((0, block), np.int64),
             np.concatenate(d) if d else np.zeros((0, block), np.int64))
            for e, d in zip(encoded, decoded)
        ]
    return results, pairs


def code_signal(
    y: np.ndarray,
    *,
    block: int,
    rate: float,
    transform: str = "klt",
    reconstruction: str = "midpoint",
    covariance: np.ndarray | None = None,
    chunk_blocks: int = CHUNK_BLOCKS,
) -> tuple[CodingResult, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Code a signal held in memory with one transform at one rate, and decode it.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    block : int >= 2
        Block size.
    rate : float in (0, 16]
        Target bits per sample.
    transform : {"klt", "dct", "pcm"}
    reconstruction : {"midpoint", "centroid"}
    covariance : np.ndarray [shape=(block, block)] or None
        Block covariance used for the transform and the allocation; default: estimated from
        ``y`` (:func:`block_covariance`).

    Returns
    -------
    result : CodingResult
    decoded : np.ndarray [shape=(n_samples,)]
        The decoded signal.
    indices : (encoded, decoded)
        Quantization indices before coding and after decoding, shape (n_blocks, block) each.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal(4096)
    >>> result, decoded, (sent, received) = code_signal(y, block=4, rate=2.0, transform="dct")
    >>> bool((sent == received).all())
    True
    """
    y, block = validate_signal(y, block)
    rate = validate_rate(rate)
    validate_transform(transform)
    validate_reconstruction(reconstruction)
    cov = block_covariance(y, block) if covariance is None else np.asarray(covariance, float)
    if cov.shape != (block, block):
        raise ParameterError(f"covariance shape {cov.shape} does not match {block=}")
    basis = transform_matrix(transform, cov)
    variances = coefficient_variances(cov, basis)
    if not (variances > 0).any():
        raise ParameterError("every coefficient variance is zero (silence): nothing to code")
    coder = BlockCoder(basis, variances, rate=rate, transform=transform,
                       reconstruction=reconstruction, samples=y.size)
    mean = float(y.mean())
    pieces_out: list[np.ndarray] = []
    results, pairs = run_coders(
        lambda: [y], block, mean, [coder], samples=y.size, chunk_blocks=chunk_blocks,
        on_decoded=lambda k, s: pieces_out.append(s), keep_indices=True,
    )
    return results[0], np.concatenate(pieces_out), pairs[0]
