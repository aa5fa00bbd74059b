"""The coding figures of :mod:`sfm_audio.figures`: ``eigen``, ``rd``, ``gain``, ``lossless``,
``prediction``, ``duality``, ``gains`` and ``frame-gains``. Each runs the part of
:mod:`sfm_audio.coding` it needs (imported inside the function, so importing this module stays
cheap) or draws a report it is given, which it reads by attribute."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import defaults
from .._errors import ParameterError
from .options import GAINS_FIGURE_BITS

if TYPE_CHECKING:
    from ..coding.records import BlockSection, CodingReport, Lossless
    from .options import PlotOptions

def _report(path: str, blocks: tuple[int, ...], rates: tuple[float, ...]) -> CodingReport:
    """The coding report of a file (:func:`sfm_audio.coding.run_experiment`)."""
    from ..coding import run_experiment

    return run_experiment(path, blocks=list(blocks), rates=list(rates),
                          transforms=list(defaults.TRANSFORMS)).report


def as_report(report: CodingReport | dict | None) -> CodingReport | None:
    """A report given to :func:`figure`: the record, or its JSON (``to_dict()``) as a dict."""
    if report is None or not isinstance(report, dict):
        return report
    from ..coding.records import CodingReport

    return CodingReport.from_dict(report)


def _as_lossless(entry: Lossless | dict) -> Lossless:
    from ..coding.records import CodingReport, Lossless

    if isinstance(entry, CodingReport):
        return entry.lossless
    if isinstance(entry, dict):
        return Lossless.from_dict(entry.get("lossless", entry))
    return entry


def _lossless(path: str) -> Lossless:
    """The ``lossless`` section of a file's coding report, without running the coders."""
    from ..coding import lossless_file

    return lossless_file(path)


def _single_block(options: PlotOptions, kind: str) -> int:
    if options.blocks is None:
        return defaults.FIGURE_BLOCK
    if len(options.blocks) != 1:
        raise ParameterError(f"kind={kind} draws one block size; got blocks="
                             f"{','.join(map(str, options.blocks))}", param="blocks")
    return options.blocks[0]


def _block_entry(report: CodingReport, n: int) -> BlockSection:
    try:
        return report.block(n)
    except KeyError:
        raise ParameterError(f"the coding report has no block size {n}",
                             param="blocks") from None


def fig_eigen(inputs, options: PlotOptions, figsize, report=None):
    from .. import plot as splot

    n = _single_block(options, "eigen")
    report = report or _report(inputs[0], (n,), options.rates)
    block = _block_entry(report, n)
    lam = block.transforms["klt"].variances
    thetas = [p.theta for p in block.rd]
    rates = [p.rate for p in block.rd]
    title = (f"{Path(inputs[0]).name}: KLT eigen-spectrum, N = {n}\n"
             f"water levels at {', '.join(f'{r:g}' for r in rates)} bit/sample")
    return splot.eigen(lam, thetas=thetas, rates=rates, block=n, title=title, figsize=figsize)


#: caption of the ``rd`` figure; ``{group}`` is the short-time model's group of blocks
RD_CAPTION = (
    "Lines: Gaussian models of the source, the same for every transform. Audio that changes "
    "over time is easier than one stationary model of it, so points can sit left of that "
    "line; the short-time line (a model per {group} blocks, known to the decoder for free) "
    "is an oracle, not a rate an adaptive coder reaches."
)


def fig_rd(inputs, options: PlotOptions, figsize, report=None):
    from .. import plot as splot
    from ..coding.theory import rd_curves

    n = _single_block(options, "rd")
    report = report or _report(inputs[0], (n,), options.rates)
    block = _block_entry(report, n)
    theory = rd_curves(report, block)
    measured = {}
    for name in defaults.TRANSFORMS:
        pts = [p.measured[name] for p in block.rd if name in p.measured]
        pts = [q for q in pts if q.snr_db is not None]  # lossless: SNR infinite
        if pts:
            measured[name.upper()] = ([q.bits_per_sample for q in pts],
                                      [q.snr_db for q in pts])
    duality = report.duality
    if duality and duality.snr_db is not None:  # what the short-time theory describes
        measured[f"adaptive DCT, {duality.block}-sample frames"] = (
            [duality.bits_per_sample], [duality.snr_db])
    title = (f"{Path(inputs[0]).name}: rate–distortion, N = {n}\n"
             "Gaussian R(D) of the source (lines), quantizer + range coder (markers)")
    return splot.rd(theory, measured,
                    caption=RD_CAPTION.format(group=block.theory.short_time_group_blocks),
                    title=title, figsize=figsize)


def fig_gain(inputs, options: PlotOptions, figsize, report=None):
    from .. import plot as splot

    blocks = tuple(options.blocks) if options.blocks else defaults.GAIN_BLOCKS
    if len(blocks) < 2:
        raise ParameterError("kind=gain draws gain against block size; give at least two "
                             "block sizes, e.g. blocks=2,4,8,16,32", param="blocks")
    report = report or _report(inputs[0], blocks, options.rates[:1])
    entries = [_block_entry(report, n) for n in blocks]

    def column(name: str, key: str) -> list[float]:
        return [e.column(name, key) for e in entries]

    gains = {name.upper(): column(name, "coding_gain_db")
             for name in defaults.TRANSFORMS if name in entries[0].transforms}
    # the KLT is fitted to the blocks it is measured on; its held-out gain is the honest one
    heldout = ({"KLT": column("klt", "heldout_coding_gain_db")}
               if "klt" in entries[0].transforms else None)
    limit = report.gain_limit_db
    title = f"{Path(inputs[0]).name}: coding gain against block size"
    if limit is not None:
        title += f"\n1/SFM of the PSD = {limit:.2f} dB, the limit as N grows"
    return splot.gain(list(blocks), gains, limit, heldout_db=heldout, title=title,
                      figsize=figsize)


def fig_lossless(inputs, options: PlotOptions, figsize, reports=None):
    from .. import plot as splot

    estimate, flac, names = [], [], []
    for i, path in enumerate(inputs):
        result = _as_lossless(reports[i]) if reports else _lossless(path)
        estimate.append(result.estimate_bits_per_sample)
        flac.append(result.flac_bits_per_sample)
        quantized = " (quantized)" if result.quantized else ""
        names.append(f"{Path(path).name}, {result.pcm_bits}-bit{quantized}")
    what = Path(inputs[0]).name if len(inputs) == 1 else f"{len(inputs)} files"
    title = (f"Lossless coding of {what}\n"
             "FLAC against the Gaussian entropy-rate estimate")
    return splot.lossless(estimate, flac, names, title=title, figsize=figsize)


def fig_prediction(inputs, options: PlotOptions, figsize, report=None):
    from .. import plot as splot
    from ..coding.prediction import predict_file

    blocks = tuple(options.blocks) if options.blocks else defaults.GAIN_BLOCKS
    report = report or _report(inputs[0], blocks, options.rates[:1])
    entries = [_block_entry(report, n) for n in blocks]
    coding = {
        name.upper(): [e.transforms[name].coding_gain_db for e in entries]
        for name in ("klt", "dct", "mdct") if name in entries[0].transforms
    }
    if "KLT" in coding:  # the in-sample KLT gain overfits (beyond the limit at large N)
        held = [e.transforms["klt"].heldout_coding_gain_db for e in entries]
        del coding["KLT"]
        if all(g is not None for g in held):
            coding = {"KLT held out": held, **coding}
    rows = report.prediction
    if not rows:
        raise ParameterError(f"{inputs[0]}: too short for linear prediction")
    orders = [p.order for p in rows]
    psd, predictions = predict_file(inputs[0], orders=orders[-1:], nperseg=report.nperseg)
    half = psd.size // 2 + 1
    freqs = [k * report.sr / psd.size for k in range(half)]
    gains = [float("nan") if p.gain_db is None else p.gain_db for p in rows]
    title = (f"{Path(inputs[0]).name}: prediction gain and coding gain, two roads to "
             f"1/SFM of the PSD")
    return splot.prediction(orders, gains, list(blocks), coding, report.gain_limit_db,
                            freqs, psd[:half], predictions[0].residual_psd[:half],
                            residual_order=orders[-1], title=title, figsize=figsize)


def fig_duality(inputs, options: PlotOptions, figsize, report=None):
    from .. import plot as splot
    from ..coding.duality import duality_file

    if report is not None and report.duality:
        block, rate = report.duality.block, report.duality.rate
    else:
        block = _single_block(options, "duality") if options.blocks else defaults.DUALITY_BLOCK
        rate = options.rates[0] if len(options.rates) == 1 else defaults.DUALITY_RATE
    d = duality_file(inputs[0], block=block, rate=rate)
    summary = d.summary()
    fit = {"intercept": summary["intercept"], "energy_coef": summary["energy_coef"],
           "flatness_coef": summary["flatness_coef"], "r2": summary["r2_fit"]}
    title = (f"{Path(inputs[0]).name}: bits of each {block}-sample frame, one water level "
             f"for {rate:g} bit/sample (adaptive DCT coder, SFM of the extractor's frame)")
    return splot.duality(d.predicted_bits, d.bits, d.energy_term(), d.flatness_term(), fit=fit,
                         r2_predicted=summary["r2_predicted"], title=title, figsize=figsize)



def _gains_rows(inputs: list[str]) -> list[dict]:
    """Rows of the gains experiment: read from a ``--gains`` CSV, or computed (first
    ``DEFAULT_SECONDS`` of each file, at :data:`GAINS_FIGURE_BITS`)."""
    import csv

    if len(inputs) == 1 and inputs[0].lower().endswith(".csv"):
        with open(inputs[0], newline="") as handle:
            rows = list(csv.DictReader(handle))
        need = {"file", "pcm_bits", "measured_stationary_db", "predicted_stationary_db",
                "measured_adaptive_db", "predicted_adaptive_db"}
        if not rows or need - set(rows[0]):
            raise ParameterError(f"{inputs[0]}: not a table of sfm-audio code --gains (needs "
                                 f"{', '.join(sorted(need))})", param="inputs")
        return rows
    from ..coding.gains import gains_file

    return [r.to_dict() for path in inputs
            for r in gains_file(path, pcm_bits=(GAINS_FIGURE_BITS,))]


def fig_gains(inputs, options: PlotOptions, figsize):
    from .. import plot as splot

    rows = _gains_rows(inputs)
    points = sorted({int(r["pcm_bits"]) for r in rows})
    bits = GAINS_FIGURE_BITS if GAINS_FIGURE_BITS in points else points[0]
    at = [r for r in rows if int(r["pcm_bits"]) == bits]

    def column(key: str) -> np.ndarray:
        return np.array([np.nan if r[key] in (None, "") else float(r[key]) for r in at])

    coders = ("adaptive", "stationary")
    measured = {c: column(f"measured_{c}_db") for c in coders}
    predicted = {c: column(f"predicted_{c}_db") for c in coders}
    what = Path(at[0]["file"]).name if len(at) == 1 else f"{len(at)} files"
    title = (f"Gain over PCM at {bits} bit/sample, {what}\nreal coders against the "
             "extractor's rate-aware prediction (nothing fitted)")
    return splot.gains(measured, predicted, title=title, figsize=figsize)


def fig_frame_gains(inputs, options: PlotOptions, figsize):
    from .. import plot as splot
    from ..coding.gains import DEFAULT_BLOCK, frame_gains_file

    path = inputs[0]
    block = _single_block(options, "frame-gains") if options.blocks else DEFAULT_BLOCK
    f = frame_gains_file(path, pcm_bits=GAINS_FIGURE_BITS, block=block)
    title = (f"{Path(path).name}: bits of each {f.block}-sample MDCT frame of the adaptive coder "
             f"at the {f.pcm_bits}-bit PCM step,\nmeasured against predicted from the "
             "extractor's Bark band levels of that frame (no coded coefficient used)")
    return splot.frame_gains(f.measured, f.predicted, f.energy_only, title=title,
                             figsize=figsize)
