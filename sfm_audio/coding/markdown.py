"""The coding report as Markdown: gains per block size, R(D), lossless, prediction, duality.

Reads a :class:`~sfm_audio.coding.records.CodingReport` by attribute; ``sfm-audio demo``
writes it beside the JSON.
"""

from __future__ import annotations

from pathlib import Path

from .. import defaults
from .records import CodingReport

__all__ = ["markdown_report"]


def _num(x: float | None, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def markdown_report(report: CodingReport | dict) -> str:
    """The transform-coding report as Markdown tables.

    Parameters
    ----------
    report : CodingReport or dict
        A report of :func:`sfm_audio.coding.run_experiment` (or its JSON as a dict).

    Returns
    -------
    text : str
    """
    if isinstance(report, dict):
        report = CodingReport.from_dict(report)
    transforms = defaults.TRANSFORMS
    lines = [f"# Transform coding of `{Path(report.file).name}`", ""]
    lines += [
        f"sr {report.sr:g} Hz, {report.samples} samples, variance "
        f"{report.variance:.4g}, PSD flatness {report.psd_sfm:.4g} "
        f"(gain limit 1/SFM {_num(report.gain_limit_db, '.2f')} dB), mean per-frame SFM "
        f"{_num(report.frame_sfm_mean, '.4g')}"
        " (the PSD is the spectrum averaged over the whole file, the per-frame SFM the "
        "flatness of each frame's own spectrum: they can differ a lot either way)",
        "",
        *[f"- note: {w}" for w in report.warnings],
        *([""] if report.warnings else []),
        "## Coding gain (dB)",
        "",
        "In-sample, beside the KLT's held-out gain (halves; both splits in the held-out "
        "table below).",
        "",
        "| N | " + " | ".join(t.upper() for t in transforms) + " | KLT held out | eigen SFM |",
        "|---:|" + "---:|" * (len(transforms) + 2),
    ]
    for entry in report.blocks:
        tr = entry.transforms
        gains = " | ".join(
            _num(tr[t].coding_gain_db if t in tr else None, ".2f") for t in transforms)
        klt = tr.get("klt")
        held = None if klt is None else klt.heldout_coding_gain_db
        eig = None if klt is None else klt.eigen_sfm
        lines.append(f"| {entry.block} | {gains} | {_num(held, '.2f')} | {_num(eig, '.4f')} |")
    for entry in report.blocks:
        lines += [
            "",
            f"## Rate–distortion, N = {entry.block}",
            "",
            "Each cell: measured bits / SNR (dB) / stationary R(D) / short-time R(D), the two "
            "Gaussian rates at the measured distortion (bit/sample; the short-time one is an "
            "oracle that knows each group's spectrum).",
            "",
            "| target (bit/sample) | " + " | ".join(t.upper() for t in transforms) + " |",
            "|---:|" + "---:|" * len(transforms),
        ]
        for p in entry.rd:
            cells = []
            for t in transforms:
                m = p.measured.get(t)
                cells.append("–" if m is None else " / ".join((
                    _num(m.bits_per_sample, ".3f"), _num(m.snr_db, ".2f"),
                    _num(m.stationary_rate, ".3f"), _num(m.short_time_rate, ".3f"))))
            lines.append(f"| {p.rate:g} | " + " | ".join(cells) + " |")
    ll = report.lossless
    lines += [
        "",
        "## Lossless (bit/sample)",
        "",
        "| sample width | Gaussian entropy-rate estimate | FLAC |",
        "|---:|---:|---:|",
        f"| {ll.pcm_bits}-bit{' (quantized)' if ll.quantized else ''} | "
        f"{ll.estimate_bits_per_sample:.3f} | {ll.flac_bits_per_sample:.3f} |",
    ]
    lines += _markdown_roads(report)
    lines += _markdown_heldout(report)
    from ..glossary import CODING_GLOSSARY

    lines += ["", "## Glossary", ""]
    lines += [f"- **{term}**: {text}" for term, text in CODING_GLOSSARY]
    return "\n".join(lines) + "\n"


def _markdown_roads(report: CodingReport) -> list[str]:
    """Markdown of the prediction gains and of the per-frame duality of a coding report."""
    lines: list[str] = []
    if report.prediction:
        lines += ["", "## Linear prediction", "",
                  "| order | gain (dB, in-sample) | residual SFM |", "|---:|---:|---:|"]
        lines += [f"| {p.order} | {_num(p.gain_db, '.2f')} | {p.residual_sfm:.3f} |"
                  for p in report.prediction]
    d = report.duality
    if d:
        lines += [
            "", f"## Bits against flatness, {d.block}-sample frames", "",
            f"{d.blocks} frames, one water level θ = {d.theta:.4g} for "
            f"{d.rate:g} bit/sample of per-frame water-filling; the adaptive "
            f"{d.transform.upper()} coder spends {d.bits_per_sample:.3f} bit/sample "
            f"(spread between frames {d.bits_std:.3f}). R² of the frames' bits against "
            f"per-frame water-filling {_num(d.r2_predicted, '.3f')}; fit bits ≈ "
            f"{_num(d.intercept, '.2f')} + {_num(d.energy_coef, '.2f')}·½log2(E/θ) + "
            f"{_num(d.flatness_coef, '.2f')}·½log2(SFM) with the extractor's SFM of each "
            f"frame, R² {_num(d.r2_fit, '.3f')}.",
        ]
    return lines


#: how each held-out row is named (model -> label, size prefix)
_HELDOUT_NAMES = {"klt": ("KLT coding gain (dB)", "N = "), "lpc": ("LPC gain (dB)", "p = "),
                  "adaptive_fit": ("adaptive coder's fit, R² against y = x", "frame ")}


def _markdown_heldout(report: CodingReport) -> list[str]:
    """Markdown of the held-out protocol: every fitted model in-sample and under both splits."""
    held = report.heldout
    if held is None or not held.rows:
        return []
    lines = [
        "", "## Held out: one protocol for every fitted model", "",
        "Each model fitted on one part of the signal and measured on the other (mean of both "
        "ways). Halves: the first half against the second (non-stationarity and overfitting); "
        "odd/even: even blocks against odd ones (overfitting alone; runs of N samples for the "
        f"KLT, {held.lpc_unit} for LPC, one frame for the adaptive fit). In-sample values are "
        "fitted and measured on the same samples.",
        "",
        "| model | size | in-sample | halves | odd/even |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in held.rows:
        label, prefix = _HELDOUT_NAMES.get(row.model, (row.model, ""))
        spec = ".3f" if row.measure == "r2_identity" else ".2f"
        cells = [_num(row.in_sample, spec)] + [
            "–" if v is None else _num(v.mean, spec) for v in (row.halves, row.odd_even)]
        lines.append(f"| {label} | {prefix}{row.size} | " + " | ".join(cells) + " |")
    return lines
