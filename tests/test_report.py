"""Tests of sfm_audio.report: figures of recordings draw the library's numbers; reports render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfm_audio import report
from sfm_audio._errors import AudioFileError, ParameterError

SR = 8000


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> Path:
    """2 s at 8 kHz, 16-bit: a gliding tone over noise (seeded)."""
    rng = np.random.default_rng(3)
    t = np.arange(2 * SR) / SR
    y = 0.3 * np.sin(2 * np.pi * (200 * t + 300 * t**2)) + 0.03 * rng.standard_normal(t.size)
    path = tmp_path_factory.mktemp("audio") / "glide.wav"
    sf.write(path, y, SR, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def audio2(tmp_path_factory) -> Path:
    """1.5 s at 8 kHz of AR(1) noise, ρ = 0.9 (seeded), for a second lossless point."""
    rng = np.random.default_rng(4)
    e = rng.standard_normal(int(1.5 * SR))
    y = np.empty_like(e)
    y[0] = e[0]
    for i in range(1, e.size):
        y[i] = 0.9 * y[i - 1] + e[i]
    path = tmp_path_factory.mktemp("audio") / "ar1.wav"
    sf.write(path, 0.05 * y, SR, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def coding_report(audio):
    from sfm_audio.coding import run_experiment

    return run_experiment(audio, blocks=[4, 8], rates=[1.0, 2.0]).report


# --------------------------------------------------------------------------- figure()


def test_flatness_figure_data_and_title(audio, monkeypatch):
    """The figure draws the overview's arrays and names the file and parameters."""
    from sfm_audio import plot as splot
    from sfm_audio.overview import overview

    figures = []
    real = splot.flatness

    def spy(*args, **kwargs):
        fig = real(*args, **kwargs)
        figures.append((args, kwargs, fig))
        return fig

    monkeypatch.setattr(splot, "flatness", spy)
    fig = report.figure(audio, "flatness", start=0.5, end=1.5, n_fft=512, hop_length=128,
                        dpi=20, width=100, height=80)
    (args, kwargs, drawn), = figures
    assert drawn is fig
    assert tuple(fig.get_size_inches()) == (5.0, 4.0)
    ov = overview(audio, start=0.5, end=1.5, n_fft=512, hop_length=128, width=100, height=80,
                  bands=None)
    np.testing.assert_array_equal(args[0], ov.spec_db[1:])  # all but the DC row
    np.testing.assert_array_equal(args[1], ov.freq_edges[1:])
    np.testing.assert_array_equal(args[2], ov.col_edges)
    np.testing.assert_array_equal(args[3], ov.sfm)
    np.testing.assert_array_equal(kwargs["sfm_db"], ov.sfm_db)
    title = fig.get_suptitle()
    span = f"{ov.start:.2f}–{ov.end:.2f} s"  # the times of the first and last frame drawn
    for text in ("glide.wav", "n_fft 512", "hop 128", "sr 8000 Hz", span):
        assert text in title
    assert len(fig.axes) >= 4  # spectrogram, colour bar, SFM, dB (+ tonality twin)


def test_default_size_is_the_kind_size_in_inches():
    for kind, size in report.SIZES.items():
        assert report.PlotOptions(dpi=40).figsize(kind) == size
    assert report.PlotOptions(dpi=50, width=333, height=211).figsize("bands") == (6.66, 4.22)


def test_coding_figures_draw_the_report(audio, coding_report):
    """eigen, rd and gain draw the numbers of the ``sfm-audio code`` report."""
    block = coding_report["blocks"][1]
    opts = {"blocks": (8,), "rates": (1.0, 2.0), "dpi": 20, "width": 80, "height": 60}

    fig = report.figure(audio, "eigen", report=coding_report, **opts)
    ax_l = fig.axes[0]
    (eig,) = [ln for ln in ax_l.get_lines() if ln.get_label() == "Eigenvalues λᵢ"]
    np.testing.assert_allclose(eig.get_ydata(), block["transforms"]["klt"]["variances"])
    levels = [ln.get_ydata()[0] for ln in ax_l.get_lines() if ln.get_label().startswith("θ")]
    np.testing.assert_allclose(levels, [p["theta"] for p in block["rd"]])
    assert "N = 8" in fig.get_suptitle() and "glide.wav" in fig.get_suptitle()

    fig = report.figure(audio, "rd", report=coding_report, **opts)
    (ax,) = fig.axes
    (klt,) = [ln for ln in ax.get_lines() if ln.get_label() == "KLT measured"]
    np.testing.assert_allclose(klt.get_xdata(),
                               [p["measured"]["klt"]["bits_per_sample"] for p in block["rd"]])
    np.testing.assert_allclose(klt.get_ydata(),
                               [p["measured"]["klt"]["snr_db"] for p in block["rd"]])
    (theory,) = [ln for ln in ax.get_lines() if ln.get_label() == "stationary Gaussian R(D)"]
    # the stationary line passes through each point's stationary rate at its measured SNR
    x, y = theory.get_data()
    order = np.argsort(y)
    for p in block["rd"]:
        m = p["measured"]["klt"]
        assert np.interp(m["snr_db"], y[order], x[order]) == pytest.approx(
            m["stationary_rate"], abs=0.05)
    assert any(ln.get_label() == "short-time Gaussian R(D)" for ln in ax.get_lines())
    assert "sit left of" in fig.get_supxlabel()  # the caption says why points can

    opts["blocks"] = (4, 8)
    fig = report.figure(audio, "gain", report=coding_report, **opts)
    (ax,) = fig.axes
    (dct,) = [ln for ln in ax.get_lines() if ln.get_label() == "DCT"]
    np.testing.assert_allclose(
        dct.get_ydata(), [b["transforms"]["dct"]["coding_gain_db"] for b in coding_report["blocks"]]
    )
    assert any(ln.get_ydata()[0] == pytest.approx(coding_report["gain_bound_db"])
               for ln in ax.get_lines() if ln.get_label().startswith("1/SFM"))
    (held,) = [ln for ln in ax.get_lines() if ln.get_label() == "KLT held out (other half)"]
    np.testing.assert_allclose(
        held.get_ydata(),
        [b["transforms"]["klt"]["heldout_coding_gain_db"] for b in coding_report["blocks"]])


def test_lossless_points_are_the_coding_report_numbers(audio, audio2):
    """The lossless figure (which skips the coders) shows the full experiment's numbers."""
    from sfm_audio.coding import run_experiment

    fig = report.figure([audio, audio2], "lossless", dpi=20, width=80, height=80)
    (ax,) = fig.axes
    (points,) = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    x, y = points.get_data()
    expected = [run_experiment(p, blocks=[4], rates=[1.0]).report["lossless"]
                for p in (audio, audio2)]
    np.testing.assert_allclose(x, [e["estimate_bits_per_sample"] for e in expected],
                               rtol=1e-12)
    np.testing.assert_allclose(y, [e["flac_bits_per_sample"] for e in expected], rtol=1e-12)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1].startswith("1: glide.wav, 16-bit") and legend[2].startswith("2: ar1.wav")


def test_render_writes_and_returns_the_path(tmp_path, audio):
    out = report.render(audio, "bands", tmp_path / "b.svg", dpi=30, bands="octave")
    assert out == tmp_path / "b.svg"
    assert out.read_bytes()[:5] == b"<?xml"


@pytest.mark.parametrize(
    ("kind", "options", "match"),
    [
        ("histogram", {}, "unknown kind 'histogram'"),
        ("flatness", {"colour": "red"}, "unknown figure option 'colour'"),
        ("flatness", {"width": 10}, "width=10 must be at least 50 pixels"),
        ("flatness", {"width": 300.5}, "width=300.5 must be at least 50 pixels"),
        ("flatness", {"dpi": -1}, "dpi=-1 must be a positive"),
        ("rd", {"start": 0.5}, "uses the whole file"),
        ("eigen", {"blocks": (8, 16)}, "draws one block size"),
        ("gain", {"blocks": (8,)}, "at least two block sizes"),
    ],
)
def test_bad_options(audio, kind, options, match):
    with pytest.raises(ParameterError, match=match):
        report.figure(audio, kind, **options)


def test_render_checks_the_output_before_reading(tmp_path):
    # the input does not exist, but the bad output is what is reported: nothing was read
    with pytest.raises(ParameterError, match="matplotlib cannot write"):
        report.render(tmp_path / "missing.wav", "flatness", tmp_path / "fig.xyz")
    with pytest.raises(AudioFileError, match="no such file"):
        report.render(tmp_path / "missing.wav", "flatness", tmp_path / "fig.png")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- reports


def test_markdown_report_shows_the_report_numbers(coding_report):
    md = report.markdown_report(coding_report)
    lines = md.splitlines()
    assert lines[0] == "# Transform coding of `glide.wav`"
    for entry in coding_report["blocks"]:
        (row,) = [ln for ln in lines if ln.startswith(f"| {entry['block']} |")]
        cells = [c.strip() for c in row.strip("|").split("|")]
        tr = entry["transforms"]
        assert [float(c) for c in cells[1:4]] == pytest.approx(
            [tr[t]["coding_gain_db"] for t in ("klt", "dct", "pcm")], abs=0.005)
        assert f"## Rate–distortion, N = {entry['block']}" in lines
    ll = coding_report["lossless"]
    assert (f"| {ll['pcm_bits']}-bit | {ll['estimate_bits_per_sample']:.3f} | "
            f"{ll['flac_bits_per_sample']:.3f} |") in lines
    assert "## Glossary" in lines and any(ln.startswith("- **held-out gain**") for ln in lines)


def test_run_demo_errors(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        report.run_demo(tmp_path / "out", data_dir=tmp_path / "nothing")
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ParameterError, match="exists and is not a folder"):
        report.run_demo(tmp_path / "plain")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AudioFileError):
        report.run_demo(tmp_path / "out", data_dir=empty)
    with pytest.raises(ParameterError, match="block=1"):
        report.run_demo(tmp_path / "out", block=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "plain"]


def test_report_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, sfm_audio.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
