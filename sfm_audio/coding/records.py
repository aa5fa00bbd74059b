"""The coding report's shape: typed records built by the experiment, read by every renderer.

:func:`sfm_audio.coding.run_experiment` returns a :class:`CodingReport`; the text of
``sfm-audio code`` (:mod:`sfm_audio.cli.code`), the Markdown (:mod:`sfm_audio.coding.markdown`),
the figures (:mod:`sfm_audio.figures`) and the JSON all read these records by attribute. The
JSON is ``report.to_dict()`` (finite floats or ``null``); :meth:`CodingReport.from_dict` reads
it back, so a report that crossed a process or a file is the same record again.

JSON shape (``schema`` 2; schema 1 was the same without the ``schema`` key)::

    {
      "schema": 2,
      "file": str, "sr": int, "samples": int, "channels": int,
      "mean": float, "variance": float,            # of the mono mix
      "psd_sfm": float,                            # flatness of the Welch PSD
      "gain_limit_db": float|null,                 # 10·log10(1/psd_sfm)
      "nperseg": int,                              # Welch segment length used
      "frame_sfm_mean": float|null,                # mean per-frame SFM, as `extract` gives it
      "reconstruction": "midpoint"|"centroid",
      "warnings": [str, ...],
      "blocks": [                                  # one per block size N
        {"block": int, "blocks_count": int,
         "transforms": {"klt"|"dct"|"mdct"|"pcm": {
             "coding_gain_db": float|null,         # in-sample
             "heldout_coding_gain_db": float|null, # KLT/DCT/PCM: fit one half, measure the other
             "heldout_each_db": [float|null, float|null],  # (only when held out) each way
             "eigen_sfm": float,                   # flatness of the coefficient variances
             "variances": [float, ...]}},          # coefficient variances (KLT: eigenvalues)
         "rd": [                                   # one per target rate
           {"rate": float, "theta": float, "distortion": float, "snr_db": float|null,
            "active": int,                         # reverse water-filling on the eigenvalues
            "measured": {transform: {
               "bits_per_sample", "side_bits_per_sample", "basis_bits_per_sample": float,
               "distortion", "theta", "predicted_distortion": float,
               "snr_db", "predicted_snr_db": float|null,
               "stationary_rate", "short_time_rate": float|null,  # Gaussian R(D) there
               "angle_bits": int|null, "active": int}}}],
         "prefix": [{"k": int, "distortion": float,
                     "waterfill_rate": float|null, "waterfill_distortion": float|null}],
         "theory": {"distortion": [float], "stationary_rate": [float],
                    "short_time_rate": [float], "short_time_group_blocks": int}}],
      "lossless": {"pcm_bits": int, "step": float, "source_subtype": str, "quantized": bool,
                   "estimate_bits_per_sample": float, "flac_bits_per_sample": float},
      "prediction": [{"order": int, "gain_db": float|null, "residual_sfm": float}],
      "duality": null | {"block", "blocks", "subbands", "smooth": int, "transform": "dct",
                         "rate", "theta", "bits_per_sample", "bits_std", "distortion",
                         "predicted_bits_per_sample", "sfm_median", "sfm_std": float,
                         "snr_db", "r2_predicted", "r2_predicted_smoothed", "r2_fit",
                         "intercept", "energy_coef", "flatness_coef": float|null,
                         "fit_coefficient_sfm": {"r2", "intercept", "energy_coef",
                                                 "flatness_coef": float|null,
                                                 "blocks_used": int}},
      "gains": [{"file": str, "pcm_bits": int, "step": float, "samples": int,   # optional:
                 "measured_stationary_db", "predicted_stationary_db", ...}],     # --gains
      "heldout": {                                 # one held-out protocol (.heldout)
        "lpc_unit": int,                           # samples per odd/even run of LPC
        "rows": [{"model": "klt"|"lpc"|"adaptive_fit",
                  "size": int,                     # N, order p, or duality frame
                  "measure": "coding_gain_db"|"prediction_gain_db"|"r2_identity",
                  "in_sample": float|null,         # fitted and measured on everything
                  "halves": null | {"mean": float|null, "each": [float|null, float|null]},
                  "odd_even": null | {"mean": ..., "each": [...]}}]}
    }

Several files (``sfm-audio code DIR --json``) give ``{"files": [report, ...], "failed":
[{"file", "error"}, ...]}``.

Adding a section: give :class:`CodingReport` a field ``name: Record | None = field(default=None,
metadata=OPTIONAL)`` (a frozen dataclass of its own); :meth:`~Record.to_dict` leaves it out while
it is None, so reports without it keep their JSON, and :meth:`~Record.from_dict` reads it back
from the type hint.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

__all__ = [
    "SCHEMA",
    "OPTIONAL",
    "Record",
    "Lossless",
    "TransformGain",
    "Measured",
    "RatePoint",
    "PrefixRow",
    "TheoryCurves",
    "BlockSection",
    "PredictionRow",
    "DualityFitSummary",
    "DualitySummary",
    "GainsRow",
    "SplitValue",
    "HeldOutRow",
    "HeldOutSection",
    "CodingReport",
    "plain",
]

#: version of the JSON shape (the ``schema`` key)
SCHEMA = 2
#: field metadata: the key is left out of the JSON while the value is None
OPTIONAL = {"optional": True}

R = TypeVar("R", bound="Record")


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: records as dicts, tuples as lists, numpy scalars as
    Python numbers and non-finite floats as None."""
    if isinstance(value, Record):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def _build(tp: Any, value: Any) -> Any:
    """``value`` (plain JSON) as type ``tp``: records, tuples, dicts, numbers, or as is."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(options[0], value) if len(options) == 1 else value
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp.from_dict(value)
    if origin is tuple:
        return tuple(_build(typing.get_args(tp)[0], v) for v in value)
    if origin is dict:
        return {k: _build(typing.get_args(tp)[1], v) for k, v in value.items()}
    if tp is float:
        return float(value)
    if tp is int:
        return int(value)
    return value


class Record:
    """Base of the report's records (frozen dataclasses): JSON out and back in."""

    _hints: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, keys in field order; optional fields left out while None."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.metadata.get("optional"):
                continue
            out[f.name] = plain(value)
        return out

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """The record of :meth:`to_dict`'s output; unknown keys are ignored, missing optional
        ones take their default."""
        hints = cls.__dict__.get("_hints")
        if hints is None:
            hints = typing.get_type_hints(cls)
            cls._hints = hints
        kwargs = {f.name: _build(hints[f.name], data[f.name])
                  for f in dataclasses.fields(cls) if f.name in data}  # type: ignore[arg-type]
        return cls(**kwargs)


@dataclass(frozen=True)
class Lossless(Record):
    """The lossless estimate beside what libFLAC spends (:mod:`.lossless`).

    Attributes
    ----------
    pcm_bits : int
        8, 16 or 24: the file's own width (16 for float, 32-bit and lossy input).
    step : float
        One integer step in full-scale units.
    source_subtype : str
    quantized : bool
        True when the mono mix is not integer PCM of that width.
    estimate_bits_per_sample, flac_bits_per_sample : float
    """

    pcm_bits: int
    step: float
    source_subtype: str
    quantized: bool
    estimate_bits_per_sample: float
    flac_bits_per_sample: float


@dataclass(frozen=True)
class TransformGain(Record):
    """One transform's coefficient statistics at one block size.

    Attributes
    ----------
    coding_gain_db : float or None
        In-sample coding gain (None when infinite).
    heldout_coding_gain_db : float or None
        Basis and variances fitted on one half of the blocks, measured on the other (mean of
        both ways); None for the MDCT and when there are too few blocks.
    eigen_sfm : float
        Flatness of the coefficient variances.
    variances : tuple of float [shape=(block,)]
        The coefficient variances (the KLT's are the eigenvalues, descending: as uneven as
        the spectrum, not white; the prediction residual is what becomes white).
    heldout_each_db : tuple of (float or None) or None
        The two ways of the held-out gain; left out of the JSON when there is none.
    """

    coding_gain_db: float | None
    heldout_coding_gain_db: float | None
    eigen_sfm: float
    variances: tuple[float, ...]
    heldout_each_db: tuple[float | None, ...] | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class Measured(Record):
    """What the operational coder spent and reached for one transform at one target rate."""

    bits_per_sample: float
    side_bits_per_sample: float
    distortion: float
    snr_db: float | None
    theta: float
    predicted_distortion: float
    predicted_snr_db: float | None
    stationary_rate: float | None
    short_time_rate: float | None
    basis_bits_per_sample: float
    angle_bits: int | None
    active: int


@dataclass(frozen=True)
class RatePoint(Record):
    """One target rate: reverse water-filling on the eigenvalues and each coder's measurement."""

    rate: float
    theta: float
    distortion: float
    snr_db: float | None
    active: int
    measured: dict[str, Measured]


@dataclass(frozen=True)
class PrefixRow(Record):
    """Zonal coding keeping the ``k`` largest KLT coefficients (:func:`.prefix_curve`)."""

    k: int
    distortion: float
    waterfill_rate: float | None
    waterfill_distortion: float | None


@dataclass(frozen=True)
class TheoryCurves(Record):
    """Stationary and short-time Gaussian R(D) of the source on a grid of distortions."""

    distortion: tuple[float, ...]
    stationary_rate: tuple[float, ...]
    short_time_rate: tuple[float, ...]
    short_time_group_blocks: int


@dataclass(frozen=True)
class BlockSection(Record):
    """Everything measured at one block size N."""

    block: int
    blocks_count: int
    transforms: dict[str, TransformGain]
    rd: tuple[RatePoint, ...]
    prefix: tuple[PrefixRow, ...]
    theory: TheoryCurves

    def column(self, transform: str, name: str) -> float:
        """Attribute ``name`` of ``transform``'s gains; NaN when absent or undefined."""
        gain = self.transforms.get(transform)
        value = None if gain is None else getattr(gain, name)
        return float("nan") if value is None else float(value)


@dataclass(frozen=True)
class PredictionRow(Record):
    """Linear prediction at one order (:class:`~sfm_audio.coding.prediction.Prediction`)."""

    order: int
    gain_db: float | None
    residual_sfm: float


@dataclass(frozen=True)
class DualityFitSummary(Record):
    """A least-squares fit ``bits = c0 + c_E x_E + c_F x_F`` over the blocks."""

    r2: float | None
    intercept: float | None
    energy_coef: float | None
    flatness_coef: float | None
    blocks_used: int


@dataclass(frozen=True)
class DualitySummary(Record):
    """The per-frame duality (:meth:`~sfm_audio.coding.duality.FrameDuality.summary`)."""

    block: int
    transform: str
    rate: float
    theta: float
    bits_per_sample: float
    blocks: int
    bits_std: float
    r2_predicted: float | None
    r2_fit: float | None
    energy_coef: float | None
    flatness_coef: float | None
    intercept: float | None
    r2_predicted_smoothed: float | None
    smooth: int
    predicted_bits_per_sample: float
    distortion: float
    snr_db: float | None
    subbands: int
    fit_coefficient_sfm: DualityFitSummary
    sfm_median: float
    sfm_std: float


@dataclass(frozen=True)
class GainsRow(Record):
    """One file at one operating point: measured and predicted gains over PCM (dB), the rates
    (bits per sample) and distortions behind them. Fields in the order of
    :data:`sfm_audio.coding.gains.GAINS_COLUMNS`; built by
    :func:`sfm_audio.coding.gains.gains_signal`."""

    file: str
    pcm_bits: int
    step: float
    samples: int
    measured_stationary_db: float
    predicted_stationary_db: float
    highrate_stationary_db: float
    measured_adaptive_db: float
    predicted_adaptive_db: float
    highrate_adaptive_db: float
    pcm_bits_per_sample: float
    stationary_bits_per_sample: float
    adaptive_bits_per_sample: float
    predicted_pcm_bits_per_sample: float
    predicted_stationary_bits_per_sample: float
    predicted_adaptive_bits_per_sample: float
    pcm_distortion: float
    transform_distortion: float
    predicted_pcm_distortion: float
    predicted_transform_distortion: float
    subfloor_fraction: float
    tf_temporal_db: float
    tf_spectral_db: float
    #: sample width of the source (0: compressed or unknown); at most ``pcm_bits``: the
    #: source is already on the step's grid and the prediction does not apply
    source_bits: int = 0


@dataclass(frozen=True)
class SplitValue(Record):
    """A held-out value of one split: the mean of both ways, and each way.

    Attributes
    ----------
    mean : float or None
    each : tuple of (float or None) [length 2]
        Fitted on the first part (first half, even blocks) and measured on the second; and
        the other way round.
    """

    mean: float | None
    each: tuple[float | None, ...]


@dataclass(frozen=True)
class HeldOutRow(Record):
    """One fitted model measured in-sample and under both held-out splits.

    Attributes
    ----------
    model : {"klt", "lpc", "adaptive_fit"}
        The KLT basis, the linear predictor, or the per-frame duality's fit of the adaptive
        coder's bits on energy and flatness.
    size : int
        Block size N, prediction order p, or the duality's frame length.
    measure : {"coding_gain_db", "prediction_gain_db", "r2_identity"}
        What is measured: a gain in dB, or the R² of the bits against y = x.
    in_sample : float or None
        Fitted and measured on the whole signal (labelled in-sample wherever shown).
    halves, odd_even : SplitValue or None
        Contiguous split (non-stationarity + overfitting) and interleaved split (overfitting
        alone); None when a part is too short.
    """

    model: str
    size: int
    measure: str
    in_sample: float | None
    halves: SplitValue | None
    odd_even: SplitValue | None


@dataclass(frozen=True)
class HeldOutSection(Record):
    """The held-out protocol (:mod:`sfm_audio.coding.heldout`).

    Attributes
    ----------
    lpc_unit : int
        Samples per run of linear prediction's odd/even split (the KLT's runs are its blocks,
        the adaptive fit's its frames).
    rows : tuple of HeldOutRow
        KLT at each block size, LPC at each order, the adaptive fit.
    """

    lpc_unit: int
    rows: tuple[HeldOutRow, ...]

    def row(self, model: str, size: int) -> HeldOutRow:
        """The row of ``model`` at ``size``; KeyError when there is none."""
        for r in self.rows:
            if (r.model, r.size) == (model, size):
                return r
        raise KeyError((model, size))


@dataclass(frozen=True, kw_only=True)
class CodingReport(Record):
    """The transform-coding report of one file (the JSON shape is in the module docstring).

    Attributes
    ----------
    schema : int
        :data:`SCHEMA`, first in the JSON.
    file : str
    sr, samples, channels : int
    mean, variance : float
        Of the mono mix.
    psd_sfm : float
        Flatness of the Welch PSD.
    gain_limit_db : float or None
        ``10·log10(1/psd_sfm)``, the limit of the coding and prediction gains.
    nperseg : int
    frame_sfm_mean : float or None
        Mean per-frame SFM as ``sfm-audio extract`` computes it.
    reconstruction : str
    blocks : tuple of BlockSection
    lossless : Lossless
    warnings : tuple of str
    prediction : tuple of PredictionRow
    duality : DualitySummary or None
    gains : tuple of GainsRow or None
        The gains experiment (``sfm-audio code --gains``), one row per operating point; left
        out of the JSON when not run.
    heldout : HeldOutSection or None
        The held-out protocol; absent from reports written before it.
    """

    schema: int = SCHEMA
    file: str
    sr: int
    samples: int
    mean: float
    variance: float
    psd_sfm: float
    gain_limit_db: float | None
    nperseg: int
    frame_sfm_mean: float | None
    channels: int
    reconstruction: str
    blocks: tuple[BlockSection, ...]
    lossless: Lossless
    warnings: tuple[str, ...] = ()
    prediction: tuple[PredictionRow, ...] = ()
    duality: DualitySummary | None = None
    gains: tuple[GainsRow, ...] | None = field(default=None, metadata=OPTIONAL)
    heldout: HeldOutSection | None = field(default=None, metadata=OPTIONAL)

    def block(self, n: int) -> BlockSection:
        """The section of block size ``n``; KeyError when the report has none."""
        for section in self.blocks:
            if section.block == n:
                return section
        raise KeyError(n)

    @property
    def block_sizes(self) -> tuple[int, ...]:
        return tuple(section.block for section in self.blocks)
