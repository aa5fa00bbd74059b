"""``sfm-audio code``: the transform-coding experiment on audio files, printed and as JSON."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import defaults
from .._files import check_output_dir
from ..corpus.code import wav_name
from ..glossary import glossary_text

if TYPE_CHECKING:
    from ..coding.records import CodingReport
from ._common import (
    allow_truncated_option,
    exit_if_failed,
    handle_errors,
    quiet_option,
    report_failures,
    run_options,
    scan_options,
    show_warnings_once,
    skipped_note,
    split_list,
    staging_note,
    warnings_after_success,
)


def _fmt(x, spec: str = ".2f") -> str:
    return "undefined" if x is None else format(x, spec)


def _print_report(data: dict | CodingReport) -> None:
    """Print a coding report (the record, or its JSON as a dict) as text."""
    from ..coding.records import CodingReport

    report = data if isinstance(data, CodingReport) else CodingReport.from_dict(data)
    echo = click.echo
    channels = report.channels
    echo(f"{report.file}: {report.samples} samples at {report.sr} Hz, "
         f"{channels} channel{'s' if channels != 1 else ''}, variance {report.variance:.4g}")
    echo(f"flatness: PSD {report.psd_sfm:.4f} (long-term spectrum; coding-gain limit "
         f"{_fmt(report.gain_limit_db)} dB), mean per-frame SFM "
         f"{_fmt(report.frame_sfm_mean, '.4f')} (as `extract` reports it)")
    echo("  (the PSD is the spectrum averaged over the whole file; each frame's SFM sees only "
         "that frame: they can differ a lot either way)")
    for warning in report.warnings:
        echo(f"note: {warning}")
    for entry in report.blocks:
        echo("")
        echo(f"block N = {entry.block} ({entry.blocks_count} blocks)")
        gains = []
        for t, v in entry.transforms.items():
            held = v.heldout_coding_gain_db
            held_out = held is not None and t == "klt"  # the DCT and PCM are not fitted
            gains.append(f"{t.upper()} {_fmt(v.coding_gain_db)}"
                         + (f" (held out, halves {held:.2f})" if held_out else ""))
        echo(f"  coding gain, dB (in-sample): {'  '.join(gains)}  limit "
             f"{_fmt(report.gain_limit_db)}")
        transforms = list(entry.transforms)
        head = f"  {'target':>6} |"
        for t in transforms:
            head += f" {t.upper() + ' bits':>9} {'SNR':>6} {'R_stat':>6} {'R_short':>7} |"
        echo(head)
        basis = set()
        for row in entry.rd:
            line = f"  {row.rate:6.2f} |"
            for t in transforms:
                m = row.measured[t]
                line += (f" {m.bits_per_sample:9.3f} {_fmt(m.snr_db, '6.2f')}"
                         f" {_fmt(m.stationary_rate, '6.3f')}"
                         f" {_fmt(m.short_time_rate, '7.3f')} |")
                if m.angle_bits is not None:
                    basis.add((m.basis_bits_per_sample, m.angle_bits))
            echo(line)
        echo("  bits: measured bits per sample, side information included; SNR in dB at the "
             "measured distortion; R_stat, R_short: Gaussian R(D) of the source (stationary; "
             "short-time, an oracle that knows each group's spectrum) at that distortion")
        if basis:
            costs = ", ".join(f"{b:.3f} ({a}-bit angles)" for b, a in sorted(basis))
            echo(f"  KLT basis sent as Givens angles: {costs} bit/sample")
    _print_roads(report)
    _print_heldout(report)
    ll = report.lossless
    echo("")
    width = f"{ll.pcm_bits}-bit" + (" (quantized)" if ll.quantized else "")
    echo(f"lossless ({width}): estimate {ll.estimate_bits_per_sample:.3f} bit/sample "
         f"(Gaussian entropy rate from the short-time spectrum); FLAC spends "
         f"{ll.flac_bits_per_sample:.3f} bit/sample")


def _print_roads(report: CodingReport) -> None:
    """The prediction road to the same limit, and bits against flatness frame by frame."""
    echo = click.echo
    if report.prediction:
        echo("")
        gains = "  ".join(f"p={p.order} {_fmt(p.gain_db)}" for p in report.prediction)
        echo(f"linear prediction gain (dB, in-sample; held out below): {gains}  "
             f"(limit {_fmt(report.gain_limit_db)})")
        flat = "  ".join(f"p={p.order} {p.residual_sfm:.3f}" for p in report.prediction)
        echo(f"  residual flatness: {flat}")
    d = report.duality
    if d:
        echo("")
        echo(f"per-frame duality: {d.blocks} DCT blocks of {d.block}, one water level "
             f"(theta {d.theta:.4g}) for {d.rate:g} bit/sample of water-filling")
        echo(f"  adaptive coder: {d.bits_per_sample:.3f} bit/sample (blocks spread "
             f"{d.bits_std:.3f}), SNR {_fmt(d.snr_db)} dB")
        echo(f"  R^2 (y = x) of block bits against per-frame water-filling: "
             f"{_fmt(d.r2_predicted, '.3f')}")
        echo(f"  bits ~ {_fmt(d.intercept)} + {_fmt(d.energy_coef)} * 1/2 log2(E/theta) "
             f"+ {_fmt(d.flatness_coef)} * 1/2 log2(SFM): R^2 {_fmt(d.r2_fit, '.3f')} "
             "(SFM of the extractor's frame)")


#: how each held-out row is named in the text (model -> label, size prefix)
_HELDOUT_NAMES = {"klt": ("KLT coding gain, dB", "N="), "lpc": ("LPC gain, dB", "p="),
                  "adaptive_fit": ("adaptive fit R^2 (y = x)", "")}


def _print_heldout(report: CodingReport) -> None:
    """The one held-out protocol: every fitted model in-sample and under both splits."""
    held = report.heldout
    if held is None or not held.rows:
        return
    echo = click.echo
    echo("")
    echo("held out (fitted on one part, measured on the other, mean of both ways):")
    echo("  halves = first half against second (non-stationarity + overfitting); "
         "odd/even = even blocks against odd (overfitting alone)")
    echo(f"  {'model':<26} {'size':>6} {'in-sample':>9} {'halves':>8} {'odd/even':>8}")
    for row in held.rows:
        label, prefix = _HELDOUT_NAMES.get(row.model, (row.model, ""))
        spec = ".3f" if row.measure == "r2_identity" else ".2f"
        cells = [_fmt(row.in_sample, spec)] + [
            "-" if v is None else _fmt(v.mean, spec) for v in (row.halves, row.odd_even)]
        echo(f"  {label:<26} {prefix + str(row.size):>6} {cells[0]:>9} {cells[1]:>8} "
             f"{cells[2]:>8}")
    echo(f"  (odd/even runs: N samples for the KLT, {held.lpc_unit} for LPC, one frame for "
         "the adaptive fit)")


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--block", "blocks", default=defaults.csv(defaults.BLOCKS), show_default=True,
              help="Block size(s) N, comma separated.")
@click.option("--rates", default=defaults.csv(defaults.RATES), show_default=True,
              help="Target rates in bits per sample, comma separated, each in (0, 16].")
@click.option("--transform", "transforms", default=defaults.csv(defaults.TRANSFORMS),
              show_default=True,
              help="Transforms: klt, dct, mdct (sine window, 50 % overlap; even N), pcm "
                   "(comma separated).")
@click.option("--orders", default=defaults.csv(defaults.ORDERS), show_default=True,
              help="Linear-prediction orders, comma separated.")
@click.option("--duality-block", type=int, default=defaults.DUALITY_BLOCK, show_default=True,
              help="Block (= extractor frame) size of the per-frame duality.")
@click.option("--duality-rate", type=float, default=defaults.DUALITY_RATE, show_default=True,
              help="Mean bits per sample of the per-frame duality's one water level.")
@click.option("--frames", "frames_out", type=click.Path(dir_okay=False),
              help="Write the per-frame duality table to this CSV (block, time_s, energy, "
                   "sfm, predicted_bits, bits); one input only.")
@click.option("--reconstruction", type=click.Choice(["midpoint", "centroid"]),
              default=defaults.RECONSTRUCTION, show_default=True,
              help="Decoder's value for each cell: its midpoint, or a per-coefficient "
                   "centroid offset (sent with 8 bits).")
@click.option("--gains", "gains_out", type=click.Path(dir_okay=False), default=None,
              metavar="FILE.csv",
              help="Also run the gains experiment (PCM, a stationary and an adaptive MDCT "
                   "coder at one step, measured gain over PCM beside the gain predicted "
                   "from the extractor's band levels) and write one row per file and "
                   "operating point; the JSON report holds the same under \"gains\".")
@click.option("--pcm-bits", default="4,8,16", show_default=True, metavar="LIST",
              help="Operating points of --gains: PCM bits per sample (step 2**(1-b)).")
@click.option("--gains-seconds", type=float, default=30.0, show_default=True,
              metavar="SECONDS", help="--gains codes the first SECONDS of each file.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False),
              help="Write the full report as JSON to this file (its shape, schema 2, is "
                   "documented in sfm_audio/coding/records.py).")
@click.option("--write-wav", "wav_prefix",
              help="Write the decoded audio as PREFIX-N{block}-{transform}-{rate}bps.wav "
                   "(PREFIX-<file name>-N... with several inputs).")
@run_options(
    jobs="Processes to use (default: the number of cores). With several inputs, files "
         "coded at once, one process each; with one file of 2**20 samples or more (24 s "
         "at 44.1 kHz), its parts "
         "(each transform, the prediction, the duality) at once. The report is the same "
         "whatever --jobs.",
    scheduler="With several inputs: code them on a running Dask cluster (e.g. "
              "tcp://127.0.0.1:8786), as extract --scheduler does.",
    resume="With several inputs and --json: keep the files an earlier, interrupted or "
           "partly failed run finished; code only the rest.",
    errors="With several inputs: write the failed files to this CSV (file, error).",
)
@allow_truncated_option
@scan_options
@quiet_option("With several inputs: no closing count and no note of skipped files (the "
              "reports are printed all the same).")
@handle_errors
def code(inputs, blocks, rates, transforms, orders, duality_block, duality_rate, frames_out,
         reconstruction, gains_out, pcm_bits, gains_seconds, json_out, wav_prefix, jobs,
         scheduler, resume, errors_path, allow_truncated, include, exclude, hidden, quiet):
    """Transform-coding experiment on INPUTS: KLT, DCT, MDCT and PCM over blocks of N samples.

    Prints the file's two flatness numbers; per block size, the coding gain of each transform
    (the KLT's also held out) beside the PSD limit; per target rate, the bits per sample a real
    quantizer and range coder spend, the SNR they reach and two Gaussian R(D) at that SNR;
    the linear-prediction gain at each order (--orders) and the flatness of its residual;
    the per-frame duality (--duality-block, --duality-rate): each frame's bits against its
    water-filling prediction and its flatness (--frames writes the table); then the lossless
    estimate beside FLAC. Stereo is mixed to mono (the report says so).

    With one input file the JSON is that file's report: {"schema": 2, "file", "sr", ...,
    "blocks": [...], "lossless", "prediction", "duality"}, every key documented in the
    docstring of sfm_audio.coding.records (python -m pydoc sfm_audio.coding.records).
    Several inputs (files, folders or globs) are coded in parallel and reported in path
    order; the JSON is then {"files": [report, ...], "failed": [{"file", "error"}, ...]}, a
    failing file does not stop the others, and the run ends with "N ok, M failed".

    \b
    Examples:
      sfm-audio code sfm_audio/data/arctic_a0007.wav
      sfm-audio code song.wav --block 8,16,32,64 --rates 1,2 --json report.json
      sfm-audio code corpus/ --block 32 --json corpus.json --jobs 2

    \b
    Glossary:
    {glossary}
    """
    from ..coding.duality import validate_duality_options
    from ..coding.experiment import validate_options
    from ..coding.gains import write_gains
    from ..coding.prediction import validate_orders
    from ..corpus import CodeOptions, code_file, code_files, default_jobs
    from ..corpus.code import write_json

    blocks = split_list(blocks, int, "--block")
    rates = split_list(rates, float, "--rates")
    transforms = split_list(transforms, str.lower, "--transform")
    validate_options(blocks, rates, transforms, reconstruction)
    orders = validate_orders(split_list(orders, int, "--orders"))
    validate_duality_options(duality_block, duality_rate)
    gains_bits = None
    if gains_out is not None:
        from ..coding.gains import validate_pcm_bits
        from ..validate import positive_float

        gains_bits = validate_pcm_bits(split_list(pcm_bits, int, "--pcm-bits"))
        positive_float(gains_seconds, "gains_seconds")
    if jobs is not None and scheduler is not None:
        raise click.UsageError("use either --jobs (local processes) or --scheduler (Dask)")
    show_warnings_once()
    for target in (json_out, errors_path, frames_out, gains_out):
        if target is not None:
            check_output_dir(target)
    if wav_prefix is not None:
        check_output_dir(wav_name(wav_prefix, 2, "klt", 1.0))
    options = CodeOptions(tuple(blocks), tuple(rates), tuple(transforms), reconstruction,
                          orders=tuple(orders), duality_block=duality_block,
                          duality_rate=duality_rate, allow_truncated=allow_truncated,
                          pcm_bits=gains_bits, gains_seconds=gains_seconds)

    single = inputs[0]
    if len(inputs) == 1 and not Path(single).is_dir() and (
        Path(single).exists() or not set("*?[") & set(single)
    ) and scheduler is None and not resume:
        from ..corpus.malloc import tune_malloc

        # this process is the command's own: serve its per-segment arrays from the heap
        # (without, every new array page-faults in again; a third of the coder's time)
        tune_malloc()
        with warnings_after_success():
            report = code_file(single, options, wav_prefix, frames_out=frames_out,
                               jobs=jobs or default_jobs())
        if gains_out is not None:
            write_gains(gains_out, report.get("gains", []))
        if json_out is not None:
            write_json(json_out, report)
        _print_report(report)
        return

    if frames_out is not None:
        raise click.UsageError("--frames writes the table of one input file; give one file")

    def printed(report: dict) -> None:
        _print_report(report)
        click.echo("")

    run, reports = code_files(
        inputs, options, json_out=json_out, wav_prefix=wav_prefix, jobs=jobs or default_jobs(),
        scheduler=scheduler, resume=resume, own_process=True, include=include,
        exclude=exclude, hidden=hidden, on_report=printed)
    if run.skipped:
        if not quiet:
            click.echo(skipped_note(run.skipped), err=True)
    report_failures(run.failed, errors_path)
    if gains_out is not None and reports:
        write_gains(gains_out, [row for r in reports for row in r.get("gains", [])])
    reused = f" ({len(run.reused)} reused from an earlier run)" if run.reused else ""
    if not quiet:
        click.echo(f"{len(reports)} ok, {len(run.failed)} failed{reused}", err=True)
    if run.staging is not None:
        click.echo(staging_note(run.staging), err=True)
    exit_if_failed(len(reports), run.failed)


# indented as the docstring's lines, so that click still sees its paragraphs as paragraphs;
# 77 columns wide, 79 with the two click indents them by
code.help = code.help.replace(
    "{glossary}", textwrap.indent(glossary_text(width=77), "    ").lstrip())
