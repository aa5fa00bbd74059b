"""The operational transform coder: allocate, quantize, range-code, decode, measure.

For one transform and one target rate a :class:`BlockCoder` allocates bits by reverse
water-filling on the transform's coefficient variances, quantizes every active coefficient with
a uniform mid-tread quantizer of step ``sqrt(12 theta)``, codes the indices with ``constriction``'s
range coder (one static model per coefficient, see :mod:`.entropy`), decodes them and rebuilds
the blocks. Blocks arrive in fixed groups (``chunk_blocks`` blocks), so a long signal is coded
in two streaming passes: statistics, then each group range-coded as an independent segment and
decoded at once; working memory stays bounded whatever the length.

Everything the decoder needs is counted in the bits: a header (sample count, block size,
transform, reconstruction, chunk size, mean, step, length of the code), the basis for the KLT
(its Givens angles at the precision the encoder picks, :mod:`.givens`; the coder uses the
basis the decoder rebuilds from them), one active flag per coefficient, each active
coefficient's model (:data:`.entropy.MODEL_SIDE_BITS`), for centroid reconstruction its
offset, and the length of every range-coded segment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .._errors import ParameterError, SfmError
from ..threads import one_blas_thread
from ..validate import finite_float, positive_float, positive_int
from .entropy import ColumnModels, IndexStats, fit_models, new_decoder, new_encoder
from .givens import BasisQuantizer, SentBasis
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
    "BlockGroups",
    "CodingResult",
    "code_signal",
    "group_blocks",
    "run_coders",
    "validate_rate",
    "validate_transform",
]

#: samples (64), block (16), transform (2), reconstruction (1), chunk_blocks (32),
#: mean (float64), step (float64), number of 32-bit code words (32)
HEADER_BITS = 64 + 16 + 2 + 1 + 32 + 64 + 64 + 32
#: largest target rate accepted, bits per sample
MAX_RATE = 16.0
#: blocks per group in the streaming passes
CHUNK_BLOCKS = 4096
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
    def coefficients(self, blocks: np.ndarray) -> np.ndarray:
        """Transform coefficients of blocks, shape (m, n) -> (m, n)."""
        return blocks @ self.basis.T

    def indices(self, coefficients: np.ndarray) -> np.ndarray:
        """Quantization indices of coefficients, shape (m, n), int64."""
        return quantize(coefficients, self.steps)

    def observe(self, coefficients: np.ndarray) -> None:
        """Pass 1: gather the statistics the models are fitted to."""
        self.observe_active(coefficients[:, self.cols])

    def observe_active(self, coefficients: np.ndarray) -> None:
        """:meth:`observe` given the active coefficients only, shape (m, cols.size)."""
        scaled = coefficients * self._inverse
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
        signal. Returns the indices sent and the indices the decoder read back, both of
        shape (m, n).
        """
        sent, received = self.code_active(coefficients[:, self.cols])
        full = np.zeros((2, sent.shape[0], self.n), dtype=np.int64)
        full[0][:, self.cols] = sent
        full[1][:, self.cols] = received
        return full[0], full[1]

    def code_active(self, coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`code_segment` given the active coefficients only, shape (m, cols.size);
        returns the indices of those (inactive ones are 0 on both sides)."""
        if self._columns is None:
            raise SfmError("BlockCoder.fit() must run before code_segment()")
        sent = np.rint(coefficients * self._inverse).astype(np.int64)
        encoder = new_encoder()
        self._columns.encode(encoder, sent)
        words = encoder.get_compressed()
        self.payload_words += int(words.size)
        self.segments += 1
        received = self._columns.decode(new_decoder(words), sent.shape[0])
        return sent, received

    def reconstruct(self, indices: np.ndarray) -> np.ndarray:
        """Blocks rebuilt from indices (mean not added), shape (m, n)."""
        return dequantize(indices, self.steps, offsets=self.offsets) @ self.basis

    def dequantize_active(self, indices: np.ndarray) -> np.ndarray:
        """The decoded values of the active coefficients from their indices, shape
        (m, cols.size)."""
        offsets = None if self.offsets is None else self.offsets[self.cols]
        return dequantize(indices, self.steps[self.cols], offsets=offsets)

    def reconstruct_active(self, indices: np.ndarray) -> np.ndarray:
        """:meth:`reconstruct` from the active coefficients' indices, shape (m, cols.size)."""
        if self._rows is None:
            self._rows = np.ascontiguousarray(self.basis[self.cols])
        return self.dequantize_active(indices) @ self._rows

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


class BlockGroups:
    """Regroup consecutive pieces of a signal into groups of ``chunk_blocks`` blocks, as they
    are pushed (so one read of a file can feed several consumers).

    The mean is removed; the last block is completed with zeros. :meth:`push` and
    :meth:`finish` return lists of ``(blocks, n_valid)``: ``blocks`` of shape (m, block) with
    ``m == chunk_blocks`` except in the last group, ``n_valid`` how many of its ``m * block``
    samples are signal (the rest is padding).
    """

    def __init__(self, block: int, *, mean: float, chunk_blocks: int = CHUNK_BLOCKS) -> None:
        self.block, self.mean, self.chunk_blocks = block, mean, chunk_blocks
        self._size = chunk_blocks * block
        self._group = np.empty(self._size)
        self._fill = 0

    def push(self, piece: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """The groups the next piece (shape (k,)) completes."""
        # each group is filled in place with the samples minus the mean: one pass per
        # sample, however the pieces fall
        x = np.asarray(piece, dtype=np.float64)
        size, done, start = self._size, [], 0
        while start < x.size:
            n = min(size - self._fill, x.size - start)
            np.subtract(x[start: start + n], self.mean,
                        out=self._group[self._fill: self._fill + n])
            self._fill += n
            start += n
            if self._fill == size:
                done.append((self._group.reshape(self.chunk_blocks, self.block), size))
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
        group[fill: m * self.block] = 0.0
        self._group, self._fill = np.empty(self._size), 0
        return [(group[: m * self.block].reshape(m, self.block), fill)]


def group_blocks(
    pieces: Iterable[np.ndarray], block: int, *, mean: float, chunk_blocks: int = CHUNK_BLOCKS
) -> Iterator[tuple[np.ndarray, int]]:
    """Regroup consecutive pieces of a signal into groups of ``chunk_blocks`` blocks.

    The mean is removed; the last block is completed with zeros (:class:`BlockGroups`).

    Yields
    ------
    blocks : np.ndarray [shape=(m, block)]
        ``m == chunk_blocks`` except in the last group.
    n_valid : int
        How many of the ``m * block`` samples are signal (the rest is padding).
    """
    groups = BlockGroups(block, mean=mean, chunk_blocks=chunk_blocks)
    for piece in pieces:
        yield from groups.push(piece)
    yield from groups.finish()


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
    measures the error, so only one segment per coder is ever held.

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


def _run_coders(pieces, block, mean, coders, *, samples, chunk_blocks, on_decoded,
                keep_indices):
    by_basis: dict[int, list[int]] = {}
    for k, coder in enumerate(coders):
        by_basis.setdefault(id(coder.basis), []).append(k)
    # per basis, only the coefficients some coder codes are computed (its rows of the
    # basis); each coder takes its own columns of them
    rows = {key: np.unique(np.concatenate([coders[k].cols for k in ks]))
            for key, ks in by_basis.items()}
    bases = {key: np.ascontiguousarray(coders[ks[0]].basis[rows[key]])
             for key, ks in by_basis.items()}
    take = {k: (None if coders[k].cols.size == rows[key].size
                else np.searchsorted(rows[key], coders[k].cols))
            for key, ks in by_basis.items() for k in ks}

    def groups():
        for blocks, n_valid in group_blocks(pieces(), block, mean=mean, chunk_blocks=chunk_blocks):
            yield blocks, n_valid, {key: blocks @ b.T for key, b in bases.items()}

    def own(k, coefs):
        return coefs if take[k] is None else coefs[:, take[k]]

    for _, _, coefs in groups():
        for key, ks in by_basis.items():
            for k in ks:
                coders[k].observe_active(own(k, coefs[key]))
    for coder in coders:
        coder.fit()
    encoded: list[list[np.ndarray]] = [[] for _ in coders]
    decoded: list[list[np.ndarray]] = [[] for _ in coders]
    sq_error = np.zeros(len(coders))
    match = np.ones(len(coders), dtype=bool)
    for blocks, n_valid, coefs in groups():
        flat = blocks.reshape(-1)[:n_valid]
        # Without padding and without a consumer of the decoded samples, the error is
        # measured on the coefficients: the basis is orthonormal, so the blocks rebuilt from
        # the decoded indices differ from the signal by exactly what the coefficients do
        # (Parseval), the inactive ones' whole energy included; rebuilding every sample only
        # to measure that cost up to a third of the coder's time
        parseval = on_decoded is None and n_valid == blocks.size
        energy = float(flat @ flat) if parseval else 0.0  # the blocks' (mean removed)
        for key, ks in by_basis.items():
            for k in ks:
                coder = coders[k]
                active = own(k, coefs[key])
                sent, received = coder.code_active(active)
                match[k] &= bool(np.array_equal(sent, received))
                if keep_indices:
                    for store, part in ((encoded[k], sent), (decoded[k], received)):
                        whole = np.zeros((part.shape[0], coder.n), dtype=np.int64)
                        whole[:, coder.cols] = part
                        store.append(whole)
                if parseval:
                    diff = (coder.dequantize_active(received) - active).reshape(-1)
                    sq_error[k] += diff @ diff
                    if coder.cols.size < coder.n:  # the inactive coefficients' energy
                        kept = active.reshape(-1)
                        sq_error[k] += max(energy - kept @ kept, 0.0)
                    continue
                rebuilt = coder.reconstruct_active(received).reshape(-1)[:n_valid]
                diff = rebuilt - flat
                sq_error[k] += diff @ diff
                if on_decoded is not None:
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
            distortion=float(sq_error[k] / samples),
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
