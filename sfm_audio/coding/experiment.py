"""The whole transform-coding experiment on one audio file, streamed.

Passes over the file (each reads it block by block, so memory stays bounded by the block size,
apart from the decoded audio when it is asked for). The file itself is decoded once, by the
first pass, which writes the mono mix to a temporary float64 copy that every later pass reads:

1. mean, variance check, the lossless estimate, and the integer samples (at the file's own
   width: 8, 16 or 24 bits; anything else quantized to 16) streamed through libFLAC;
2. block covariance for every block size (of all blocks, and of each half and of the even
   and odd blocks for the held-out KLT gains), the Welch PSD, the extractor's per-frame SFM
   and the local DCT spectra of the short-time R(D);
3. for every block size and transform, the two passes of the operational coder (statistics;
   then coding and decoding segment by segment) at every rate at once; the linear prediction
   (two passes) with the held-out predictors (two more: :mod:`.heldout`); the per-frame
   duality (:mod:`.duality`, its own passes).

The parts of 3 and the second pass are independent of one another once the first pass has
given the mean: with ``jobs > 1`` they run on a pool of processes, and the report is the same
bytes as with one.

Where each lives: the first and second passes in :mod:`.passes`; the parts of 3 as tasks, and
the pool of processes (or the calling process) they run on, in :mod:`.parts`; this module
checks the options, composes the report's sections from what those return, and runs the
whole (:func:`run_experiment`).

Every measured point carries two Gaussian rates at its measured distortion, properties of the
source that are the same whatever the transform: ``stationary_rate`` (reverse water-filling on
the block covariance's eigenvalues; the worst case for that covariance, which non-stationary,
heavy-tailed audio can beat) and ``short_time_rate`` (one water level over the local DCT
spectra of groups of 8 blocks, :mod:`.shorttime`). The short-time rate is an *oracle*: it
knows each group's spectrum without paying for it, so it is no rate a real adaptive coder can
reach (on white noise it sits 0.08 bit *below* the true R(D)).

The report is a :class:`~sfm_audio.coding.records.CodingReport` (its JSON shape is documented
in :mod:`sfm_audio.coding.records`); :func:`run_experiment` composes the named steps below:
check the options and the length, the first pass, the second pass, one section per block size
(gains, coders, short-time spectra, rate points, theory), prediction, duality, the held-out
protocol (:mod:`.heldout`), warnings.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import defaults, io
from .._errors import ParameterError, SfmError
from ..flatness import flatness
from ..validate import positive_int
from .coder import CodingResult, validate_rate, validate_transform
from .duality import FrameDuality, validate_duality_options
from .heldout import heldout_fit, heldout_klt
from .mdct import dct4_matrix, mdct_variances, validate_mdct_block
from .parts import (
    Inline,
    Later,
    coders_task,
    duality_task,
    lossless_task,
    part_pool,
    part_result,
    prediction_task,
    run_part,
    second_pass_task,
    share_parts,
    single_blas_thread,
    warm_up,
)
from .passes import SecondPass, first_pass, lossless_file
from .passes import frame_sfm_mean as frame_sfm_mean  # sfm_audio.coding imports it here
from .prediction import validate_orders
from .quantize import validate_reconstruction
from .records import (
    BlockSection,
    CodingReport,
    DualitySummary,
    HeldOutRow,
    HeldOutSection,
    Lossless,
    Measured,
    PredictionRow,
    PrefixRow,
    RatePoint,
    SplitValue,
    TheoryCurves,
    TransformGain,
)
from .shorttime import GROUP_BLOCKS, ShortTimeRD
from .spectra import coding_gain_db, heldout_coding_gain_db
from .transforms import (
    coefficient_variances,
    klt,
    transform_matrix,
    validate_block,
)
from .waterfill import reverse_waterfill

__all__ = [
    "Experiment",
    "run_experiment",
    "lossless_file",
    "prefix_curve",
    "DEFAULT_RATES",
    "DEFAULT_BLOCKS",
]

DEFAULT_BLOCKS = defaults.BLOCKS
DEFAULT_RATES = defaults.RATES
#: fewer blocks than this many times the block size: the report warns
FEW_BLOCKS_PER_DIMENSION = 8
#: points of the theory curves stored per block size
CURVE_POINTS = 40


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _snr_db(variance: float, distortion: float) -> float | None:
    if distortion <= 0:
        return None
    return float(10.0 * np.log10(variance / distortion))


def prefix_curve(eigenvalues: np.ndarray) -> list[dict[str, float | int]]:
    """Zonal coding: distortion per sample when only the ``k`` largest KLT coefficients are kept.

    Parameters
    ----------
    eigenvalues : np.ndarray [shape=(n,)]
        Descending.

    Returns
    -------
    rows : list of dict
        For k = 1..n: ``distortion`` (sum of the dropped eigenvalues / n, coefficients kept
        exactly) and, beside it, the water-filling optimum with exactly the same ``k``
        components active (``theta = lambda_{k+1}``): ``waterfill_rate``,
        ``waterfill_distortion``.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    n = lam.size
    tail = np.concatenate([np.cumsum(lam[::-1])[::-1], [0.0]])
    rows = []
    for k in range(1, n + 1):
        row: dict[str, float | int | None] = {"k": k, "distortion": float(tail[k] / n)}
        if k < n and lam[k] > 0:
            wf = reverse_waterfill(lam, distortion=float(np.minimum(lam[k], lam).mean()))
            row["waterfill_rate"] = wf.rate
            row["waterfill_distortion"] = wf.distortion
        else:
            row["waterfill_rate"] = None
            row["waterfill_distortion"] = None
        rows.append(row)
    return rows


@dataclass
class Experiment:
    """Result of :func:`run_experiment`.

    Attributes
    ----------
    report : :class:`~sfm_audio.coding.records.CodingReport`
        The typed report; ``report.to_dict()`` is its JSON (shape in
        :mod:`sfm_audio.coding.records`).
    decoded : dict
        ``(block, transform, rate) -> decoded signal`` (shape (n_samples,)), only when asked.
    psd : np.ndarray [shape=(nperseg,)] or None
        The signal's two-sided Welch PSD (the estimator of the 1/SFM(PSD) limit).
    prediction : list of :class:`~sfm_audio.coding.prediction.Prediction`
        Linear prediction at each order (empty when the signal is too short).
    duality : :class:`~sfm_audio.coding.duality.FrameDuality` or None
        The per-frame duality (None when the signal is shorter than one duality block).
    """

    report: CodingReport
    decoded: dict = field(default_factory=dict)
    psd: np.ndarray | None = None
    prediction: list = field(default_factory=list)
    duality: FrameDuality | None = None


def validate_options(
    blocks: Sequence[int], rates: Sequence[float], transforms: Sequence[str],
    reconstruction: str,
) -> tuple[list[int], list[float], list[str], str]:
    """Check the experiment's options; duplicates are dropped, order kept."""
    if not blocks:
        raise ParameterError("give at least one block size")
    if not rates:
        raise ParameterError("give at least one rate")
    if not transforms:
        raise ParameterError("give at least one transform")
    blocks = list(dict.fromkeys(validate_block(b) for b in blocks))
    rates = list(dict.fromkeys(validate_rate(r) for r in rates))
    transforms = list(dict.fromkeys(validate_transform(t) for t in transforms))
    return blocks, rates, transforms, validate_reconstruction(reconstruction)


def _theory_curves(variance: float, eigenvalues: np.ndarray, short: ShortTimeRD,
                   lowest: float) -> TheoryCurves:
    """Stationary and short-time Gaussian R(D) on a log grid of distortions."""
    top = float(min(variance, eigenvalues.mean()))
    grid = np.geomspace(max(lowest, top * 1e-9), top, CURVE_POINTS)
    return TheoryCurves(
        distortion=tuple(float(d) for d in grid),
        stationary_rate=tuple(reverse_waterfill(eigenvalues, distortion=d).rate for d in grid),
        short_time_rate=tuple(short.rate(d) for d in grid),
        short_time_group_blocks=GROUP_BLOCKS,
    )


@dataclass(frozen=True)
class ExperimentOptions:
    """The experiment's options, checked."""

    blocks: list[int]
    rates: list[float]
    transforms: list[str]
    reconstruction: str
    nperseg: int
    orders: list[int]
    duality_block: int
    duality_rate: float
    keep_decoded: bool


def _check_length(path, n_samples: int, options: ExperimentOptions) -> None:
    """A block (or an MDCT frame of two blocks) longer than the signal is refused."""
    longest = max(options.blocks)
    if longest > n_samples:
        raise ParameterError(
            f"{path}: block={longest} is longer than the signal ({n_samples} samples)",
            param="blocks")
    if "mdct" in options.transforms:
        for b in options.blocks:
            validate_mdct_block(b)
        if 2 * longest > n_samples:
            raise ParameterError(f"{path}: the MDCT of block={longest} needs {2 * longest} "
                                 f"samples, the signal has {n_samples}", param="blocks")


def _transform_gain(t: str, v: np.ndarray, b: int, stats: SecondPass) -> TransformGain:
    """In-sample gain of transform ``t`` (variances ``v``) and, where possible, held out."""
    held = None
    if b in stats.halves and t != "mdct":
        first_half, second_half = stats.halves[b].covariances("halves")
        held = heldout_coding_gain_db(first_half, second_half, t)
    return TransformGain(
        coding_gain_db=_finite(coding_gain_db(v)),
        heldout_coding_gain_db=None if held is None else _finite(held[0]),
        eigen_sfm=float(flatness(v)),
        variances=tuple(float(x) for x in v),
        heldout_each_db=None if held is None else tuple(_finite(g) for g in held[1:]),
    )


def _coders(path, b: int, stats: SecondPass, options: ExperimentOptions
            ) -> tuple[dict[str, TransformGain], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Each transform's gains at block size ``b``, and its basis and coefficient variances
    (what its coders are built from)."""
    cov = stats.covariance[b].covariance()
    gains: dict[str, TransformGain] = {}
    bases: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for t in options.transforms:
        if t == "mdct":  # coded as the DCT-IV of the folded signal (see .mdct)
            basis, v = dct4_matrix(b), mdct_variances(stats.lapped[b].covariance())
        else:
            basis = transform_matrix(t, cov)
            v = coefficient_variances(cov, basis)
        if not (v > 0).any():
            raise SfmError(f"{path}: every variance is zero, so the coding gain is undefined")
        gains[t] = _transform_gain(t, v, b, stats)
        bases[t] = basis, v
    return gains, bases


def _measured(res: CodingResult, variance: float, eigenvalues: np.ndarray,
              short: ShortTimeRD, n_samples: int) -> Measured:
    """One coder's result with the two Gaussian rates at its measured distortion."""
    coded = res.distortion > 0
    return Measured(
        bits_per_sample=res.bits_per_sample,
        side_bits_per_sample=res.side_bits_per_sample,
        distortion=res.distortion,
        snr_db=_snr_db(variance, res.distortion),
        theta=res.theta,
        predicted_distortion=res.predicted_distortion,
        predicted_snr_db=_snr_db(variance, res.predicted_distortion),
        stationary_rate=(reverse_waterfill(eigenvalues, distortion=res.distortion).rate
                         if coded else None),
        short_time_rate=short.rate(res.distortion) if coded else None,
        basis_bits_per_sample=res.basis_bits / n_samples,
        angle_bits=res.angle_bits,
        active=res.active,
    )


def _rate_point(r: float, eigenvalues: np.ndarray, variance: float,
                measured: dict[str, Measured]) -> RatePoint:
    wf = reverse_waterfill(eigenvalues, rate=r)
    return RatePoint(rate=r, theta=wf.theta, distortion=wf.distortion,
                     snr_db=_snr_db(variance, wf.distortion), active=wf.n_active,
                     measured=measured)


def _block_section(b: int, n_samples: int, stats: SecondPass, options: ExperimentOptions,
                   gains: dict[str, TransformGain],
                   results: dict[tuple[str, float], CodingResult]) -> BlockSection:
    """Gains, the short-time R(D), and every transform coded at every rate, at block size b."""
    eigenvalues = klt(stats.covariance[b].covariance())[0]
    short = stats.short[b]
    rd = tuple(
        _rate_point(r, eigenvalues, stats.variance, {
            t: _measured(results[t, r], stats.variance, eigenvalues, short, n_samples)
            for t in options.transforms})
        for r in options.rates)
    lowest = min((res.distortion for res in results.values() if res.distortion > 0),
                 default=stats.variance * 1e-4) / 2
    return BlockSection(
        block=b, blocks_count=n_samples // b, transforms=gains, rd=rd,
        prefix=tuple(PrefixRow(**row) for row in prefix_curve(eigenvalues)),
        theory=_theory_curves(stats.variance, eigenvalues, short, lowest),
    )


def _split_value(split) -> SplitValue | None:
    if split is None:
        return None
    return SplitValue(_finite(split.mean),
                      (_finite(split.first_to_second), _finite(split.second_to_first)))


def _heldout_section(stats: SecondPass, sections: Sequence[BlockSection], predictions,
                     lpc, duality) -> HeldOutSection:
    """Every fitted model in-sample and under both splits (:mod:`.heldout`)."""
    rows = []
    for section in sections:
        if "klt" not in section.transforms:
            continue
        held = (heldout_klt(stats.halves[section.block]) if section.block in stats.halves
                else dict.fromkeys(("halves", "odd_even")))
        rows.append(HeldOutRow("klt", section.block, "coding_gain_db",
                               section.transforms["klt"].coding_gain_db,
                               _split_value(held["halves"]), _split_value(held["odd_even"])))
    if predictions:
        rows += [HeldOutRow("lpc", p.order, "prediction_gain_db", _finite(p.gain_db),
                            _split_value(lpc[p.order]["halves"]),
                            _split_value(lpc[p.order]["odd_even"]))
                 for p in predictions]
    if duality is not None:
        held = heldout_fit(duality.bits, duality.energy_term(), duality.flatness_term())
        rows.append(HeldOutRow("adaptive_fit", duality.block, "r2_identity",
                               _finite(duality.fit.r2), _split_value(held["halves"]),
                               _split_value(held["odd_even"])))
    return HeldOutSection(lpc_unit=defaults.HELDOUT_UNIT, rows=tuple(rows))


#: files shorter than this run in the calling process whatever ``jobs`` (about 24 s at
#: 44.1 kHz: below it, starting the workers costs about as much as they save)
PARALLEL_MIN_SAMPLES = 1 << 20


def _warnings(meta: io.AudioInfo, lossless: Lossless, stats: SecondPass,
              blocks: Sequence[int]) -> tuple[str, ...]:
    """What a reader of the numbers should know: mixed channels, re-quantized samples, blocks
    too few for their size."""
    notes = []
    if meta.channels > 1:
        notes.append(f"{meta.channels} channels mixed to mono (their mean) before coding")
    if lossless.quantized:
        notes.append(
            f"the lossless estimate and FLAC use the samples quantized to "
            f"{lossless.pcm_bits} bits (the file is {meta.subtype}"
            f"{', mixed to mono' if meta.channels > 1 else ''})")
    for b in blocks:
        count = meta.frames // b
        if count < FEW_BLOCKS_PER_DIMENSION * b:
            notes.append(
                f"block={b}: only {count} blocks (fewer than "
                f"{FEW_BLOCKS_PER_DIMENSION} x {b}): the in-sample KLT overfits, "
                + ("no held-out gain is possible, " if b not in stats.halves else "")
                + "and side information weighs heavily on the bits per sample")
    return tuple(notes)


@single_blas_thread
def run_experiment(
    path: str | os.PathLike,
    *,
    blocks: Sequence[int] = defaults.BLOCKS,
    rates: Sequence[float] = defaults.RATES,
    transforms: Sequence[str] = defaults.TRANSFORMS,
    reconstruction: str = defaults.RECONSTRUCTION,
    nperseg: int = defaults.NPERSEG,
    keep_decoded: bool = False,
    orders: Sequence[int] = defaults.ORDERS,
    duality_block: int = defaults.DUALITY_BLOCK,
    duality_rate: float = defaults.DUALITY_RATE,
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> Experiment:
    """Transform-coding experiment on the mono mix of an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`sfm_audio.io.stream` reads.
    blocks : sequence of int >= 2
        Block sizes N.
    rates : sequence of float in (0, 16]
        Target bits per sample.
    transforms : sequence of {"klt", "dct", "mdct", "pcm"}
    reconstruction : {"midpoint", "centroid"}
    nperseg : int
        Welch segment length for the PSD flatness (shortened to the signal if needed).
    keep_decoded : bool
        Keep the decoded signals (``Experiment.decoded``), e.g. to write them as WAV.
    orders : sequence of int >= 1
        Linear-prediction orders (``prediction`` in the report).
    duality_block, duality_rate : int, float
        Block size and target rate of the per-frame duality (``duality``).
    progress : callable or None
        Called with a short message before each stage.
    jobs : int >= 1
        Processes the independent parts run on (this one and ``jobs - 1`` workers): the
        second pass, each transform at each block size (all its rates), the prediction and
        the duality. The report is the same
        bytes whatever ``jobs`` (each part computes the same sums in the same order, BLAS on
        one thread); files shorter than ``PARALLEL_MIN_SAMPLES`` run in this process, where
        starting workers would cost more than it saves.

    Defaults are those of :mod:`sfm_audio.defaults`.

    Notes
    -----
    The file is decoded once: the first pass writes the mono mix to a temporary float64
    file beside its other work, and every later pass reads that copy.

    Returns
    -------
    Experiment
        Its ``report`` is a :class:`~sfm_audio.coding.records.CodingReport`.

    Raises
    ------
    ParameterError
        Invalid options; a block longer than the signal.
    AudioFileError
        Missing, corrupt or non-audio file.
    SfmError
        A silent file (every variance is zero: the coding gain is undefined).
    """
    blocks, rates, transforms, reconstruction = validate_options(
        blocks, rates, transforms, reconstruction)
    duality_block, duality_rate = validate_duality_options(duality_block, duality_rate)
    options = ExperimentOptions(blocks, rates, transforms, reconstruction, nperseg,
                       validate_orders(orders), duality_block, duality_rate, keep_decoded)
    note = progress or (lambda message: None)
    jobs = positive_int(jobs, "jobs")
    meta = io.info(path)
    n_samples = meta.frames
    _check_length(path, n_samples, options)
    parallel = jobs > 1 and n_samples >= PARALLEL_MIN_SAMPLES
    # this process works too: a pool of jobs - 1 workers
    with tempfile.TemporaryDirectory(prefix="sfm-audio-code-") as tmp, (
            part_pool(jobs - 1) if parallel else Inline()) as pool:
        if parallel:
            # the workers start while this process reads the file (starting them waits for
            # the fork server to import the modules: a second or more)
            starter = threading.Thread(target=pool.submit, args=(warm_up,), daemon=True)
            starter.start()
        source = os.path.join(tmp, "mono.w64")
        note("reading the file: mean, range, a copy of the mono mix")
        with io.open_sample_copy(source, meta.sr) as copy:
            first = first_pass(path, meta, copy, lossless=False)
        if first.lo == first.hi:
            raise SfmError(
                f"{path}: silent signal (every sample equals {first.lo:g}): every variance "
                "is zero, so the coding gain is undefined"
            )
        seg = max(int(min(nperseg, 1 << int(np.log2(n_samples)))), 2)
        # the parts that need only the mean go to the workers (submitted from a thread: it
        # may wait for them to start); the second pass, which the coders wait for, runs
        # here meanwhile
        mean_parts: dict = {}

        def submit_mean_parts() -> None:
            if parallel:
                starter.join()
            mean_parts["duality"] = pool.submit(run_part, duality_task, source,
                                                duality_block, duality_rate, first.mean)
            mean_parts["lossless"] = pool.submit(run_part, lossless_task, path, meta,
                                                 source)
            mean_parts["prediction"] = pool.submit(run_part, prediction_task, source,
                                                   first.mean, options.orders, seg, n_samples)

        submitter = threading.Thread(target=submit_mean_parts, daemon=True)
        if parallel:
            submitter.start()
        else:
            submitter.run()
        note("covariance, PSD and local spectra")
        stats = part_result(Later(run_part, second_pass_task, source, n_samples, first.mean,
                               seg, options), path, source)
        if parallel:
            submitter.join()
        duality_part, lossless_part, prediction_part = (
            mean_parts["duality"], mean_parts["lossless"], mean_parts["prediction"])
        psd_sfm = float(flatness(stats.welch.psd()))
        parts, gains = {}, {}
        for b in blocks:
            gains[b], bases = _coders(path, b, stats, options)
            for t, (basis, v) in bases.items():
                args = (source, b, t, basis, v, n_samples, first.mean, options)
                parts[b, t] = pool.submit(run_part, coders_task, *args), args
        if parallel:
            note("coding")
            parts = share_parts(parts)
        decoded: dict = {}
        sections = []
        for b in blocks:
            note(f"coding with block {b}")
            results = {}
            for t in options.transforms:
                found, signals = part_result(parts[b, t][0], path, source)
                for k, r in enumerate(options.rates):
                    results[t, r] = found[k]
                    if signals is not None:
                        decoded[(b, t, r)] = signals[k]
            sections.append(_block_section(b, n_samples, stats, options, gains[b], results))
        sections = tuple(sections)
        note("linear prediction and the per-frame duality")
        predictions, lpc = part_result(prediction_part, path, source)
        duality, undefined = part_result(duality_part, path, source)
        note("the held-out protocol")
        heldout = _heldout_section(stats, sections, predictions, lpc, duality)
        note("lossless estimate and FLAC")
        lossless = part_result(lossless_part, path, source)
    report = CodingReport(
        file=str(path), sr=meta.samplerate, samples=n_samples, mean=first.mean,
        variance=stats.variance, psd_sfm=psd_sfm,
        gain_limit_db=_finite(-10.0 * np.log10(psd_sfm)) if psd_sfm > 0 else None,
        nperseg=seg, frame_sfm_mean=stats.frame_sfm_mean, channels=meta.channels,
        reconstruction=reconstruction, blocks=sections, lossless=lossless,
        warnings=_warnings(meta, lossless, stats, blocks) + tuple(undefined),
        prediction=tuple(PredictionRow.from_dict(p.summary()) for p in predictions),
        duality=None if duality is None else DualitySummary.from_dict(duality.summary()),
        heldout=heldout,
    )
    return Experiment(report=report, decoded=decoded, psd=stats.welch.psd(),
                      prediction=predictions, duality=duality)
