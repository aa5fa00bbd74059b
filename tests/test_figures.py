"""Tests of sfm_audio.figures and sfm_audio.demo: figures of recordings draw the library's
numbers; reports render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfm_audio import demo, figures
from sfm_audio._errors import AudioFileError, ParameterError
from sfm_audio.coding.markdown import markdown_report

SR = 8000


@pytest.fixture(scope="module")
def audio(glide_8k) -> Path:
    return glide_8k


@pytest.fixture(scope="module")
def audio2(ar1_8k) -> Path:
    return ar1_8k


@pytest.fixture(scope="module")
def coding_report(audio):
    from sfm_audio.coding import run_experiment

    return run_experiment(audio, blocks=[4, 8], rates=[1.0, 2.0]).report.to_dict()


# --------------------------------------------------------------------------- figure()


def test_flatness_figure_data_and_title(audio, monkeypatch):
    """The figure draws the overview's arrays and names the file and parameters."""
    from sfm_audio import plot as splot
    from sfm_audio.overview import overview

    drawn_figures = []
    real = splot.flatness

    def spy(*args, **kwargs):
        fig = real(*args, **kwargs)
        drawn_figures.append((args, kwargs, fig))
        return fig

    monkeypatch.setattr(splot, "flatness", spy)
    fig = figures.figure(audio, "flatness", start=0.5, end=1.5, n_fft=512, hop_length=128,
                        dpi=20, width=100, height=80)
    (args, kwargs, drawn), = drawn_figures
    assert drawn is fig
    assert tuple(fig.get_size_inches()) == (5.0, 4.0)
    ov = overview(audio, start=0.5, end=1.5, n_fft=512, hop_length=128, width=100, height=80,
                  bands=None)
    # all but the DC row, in dBFS: the power of a full-scale sine in its bin, (Σw/2)², is 0 dB
    hann = np.hanning(512 + 1)[:-1]  # periodic Hann, librosa's window
    np.testing.assert_allclose(args[0], ov.spec_db[1:] - 20 * np.log10(hann.sum() / 2),
                               rtol=0, atol=1e-9)
    assert kwargs["colorbar_label"] == "Power (dBFS)"
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
    for kind, size in figures.SIZES.items():
        assert figures.PlotOptions(dpi=40).figsize(kind) == size
    assert figures.PlotOptions(dpi=50, width=333, height=211).figsize("bands") == (6.66, 4.22)


def test_coding_figures_draw_the_report(audio, coding_report):
    """eigen, rd and gain draw the numbers of the ``sfm-audio code`` report."""
    block = coding_report["blocks"][1]
    opts = {"blocks": (8,), "rates": (1.0, 2.0), "dpi": 20, "width": 80, "height": 60}

    fig = figures.figure(audio, "eigen", report=coding_report, **opts)
    ax_l = fig.axes[0]
    (eig,) = [ln for ln in ax_l.get_lines() if ln.get_label() == "Eigenvalues λᵢ"]
    np.testing.assert_allclose(eig.get_ydata(), block["transforms"]["klt"]["variances"])
    levels = [ln.get_ydata()[0] for ln in ax_l.get_lines() if ln.get_label().startswith("θ")]
    np.testing.assert_allclose(levels, [p["theta"] for p in block["rd"]])
    assert "N = 8" in fig.get_suptitle() and "glide.wav" in fig.get_suptitle()

    fig = figures.figure(audio, "rd", report=coding_report, **opts)
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
    fig = figures.figure(audio, "gain", report=coding_report, **opts)
    (ax,) = fig.axes
    (dct,) = [ln for ln in ax.get_lines() if ln.get_label() == "DCT"]
    np.testing.assert_allclose(
        dct.get_ydata(), [b["transforms"]["dct"]["coding_gain_db"] for b in coding_report["blocks"]]
    )
    assert any(ln.get_ydata()[0] == pytest.approx(coding_report["gain_limit_db"])
               for ln in ax.get_lines() if ln.get_label().startswith("1/SFM"))
    (held,) = [ln for ln in ax.get_lines() if ln.get_label() == "KLT held out (other half)"]
    np.testing.assert_allclose(
        held.get_ydata(),
        [b["transforms"]["klt"]["heldout_coding_gain_db"] for b in coding_report["blocks"]])


def test_lossless_points_are_the_coding_report_numbers(audio, audio2):
    """The lossless figure (which skips the coders) shows the full experiment's numbers."""
    from sfm_audio.coding import run_experiment

    fig = figures.figure([audio, audio2], "lossless", dpi=20, width=80, height=80)
    (ax,) = fig.axes
    (points,) = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    x, y = points.get_data()
    expected = [run_experiment(p, blocks=[4], rates=[1.0]).report.lossless.to_dict()
                for p in (audio, audio2)]
    np.testing.assert_allclose(x, [e["estimate_bits_per_sample"] for e in expected],
                               rtol=1e-12)
    np.testing.assert_allclose(y, [e["flac_bits_per_sample"] for e in expected], rtol=1e-12)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1].startswith("1: glide.wav, 16-bit") and legend[2].startswith("2: ar1.wav")


def test_render_writes_and_returns_the_path(tmp_path, audio):
    out = figures.render(audio, "bands", tmp_path / "b.svg", dpi=30, bands="octave")
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
        figures.figure(audio, kind, **options)


def test_render_checks_the_output_before_reading(tmp_path):
    # the input does not exist, but the bad output is what is reported: nothing was read
    with pytest.raises(ParameterError, match="matplotlib cannot write"):
        figures.render(tmp_path / "missing.wav", "flatness", tmp_path / "fig.xyz")
    with pytest.raises(AudioFileError, match="no such file"):
        figures.render(tmp_path / "missing.wav", "flatness", tmp_path / "fig.png")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- reports


def test_markdown_report_shows_the_report_numbers(coding_report):
    md = markdown_report(coding_report)
    lines = md.splitlines()
    assert lines[0] == "# Transform coding of `glide.wav`"
    start = lines.index("## Coding gain (dB)")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    table = lines[start:end]  # other tables also have rows "| 4 | ..."
    (header,) = [ln for ln in table if ln.startswith("| N |")]
    names = [c.strip().lower() for c in header.strip("|").split("|")]
    assert {"klt", "dct", "pcm"} <= set(names)
    for entry in coding_report["blocks"]:
        (row,) = [ln for ln in table if ln.startswith(f"| {entry['block']} |")]
        cells = [c.strip() for c in row.strip("|").split("|")]
        tr = entry["transforms"]
        shown = [(float(cells[i]), tr[t]["coding_gain_db"]) for i, t in enumerate(names)
                 if t in tr]
        assert len(shown) >= 3
        assert [a for a, _ in shown] == pytest.approx([b for _, b in shown], abs=0.005)
        assert f"## Rate–distortion, N = {entry['block']}" in lines
    ll = coding_report["lossless"]
    assert (f"| {ll['pcm_bits']}-bit | {ll['estimate_bits_per_sample']:.3f} | "
            f"{ll['flac_bits_per_sample']:.3f} |") in lines
    assert "## Glossary" in lines and any(ln.startswith("- **held-out gain**") for ln in lines)


def test_run_demo_errors(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        demo.run_demo(tmp_path / "out", data_dir=tmp_path / "nothing")
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ParameterError, match="exists and is not a folder"):
        demo.run_demo(tmp_path / "plain")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AudioFileError):
        demo.run_demo(tmp_path / "out", data_dir=empty)
    with pytest.raises(ParameterError, match="block=1"):
        demo.run_demo(tmp_path / "out", block=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "plain"]


def test_report_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, sfm_audio.figures, sfm_audio.demo; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- plot controls


def _drawn_texts(fig):
    """Every visible, non-empty text the renderer draws (tick labels only inside the view)."""
    from matplotlib.text import Text

    out, tick_labels = [], set()
    for ax in fig.axes:
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = min(limits), max(limits)
            tol = 1e-9 * max(abs(lo), abs(hi), 1.0)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                for label in (tick.label1, tick.label2):
                    tick_labels.add(id(label))
                    if tick.get_visible() and lo - tol <= tick.get_loc() <= hi + tol:
                        out.append(label)
    out += [t for t in fig.findobj(Text) if id(t) not in tick_labels]
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def _texts_outside(fig, dpi: float) -> list[tuple[str, tuple[float, ...]]]:
    """Texts whose rendered extent leaves the canvas (PNG pixels at ``dpi``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = canvas.get_width_height()
    bad = []
    for text in _drawn_texts(fig):
        box = text.get_window_extent(renderer)
        if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5:
            bad.append((text.get_text(), tuple(np.round(box.extents))))
    return bad


SIZES_PX = [(400, 300), (1200, 700), (2400, 1400)]


@pytest.mark.parametrize("size", SIZES_PX)
@pytest.mark.parametrize("kind", ["flatness", "bands", "rd", "gain", "lossless"])
def test_no_text_leaves_the_canvas(audio, coding_report, kind, size):
    width, height = size
    extra = {"report": coding_report, "blocks": (8,) if kind == "rd" else (4, 8)}
    if kind == "lossless":
        extra = {"reports": [coding_report]}
    elif kind in ("flatness", "bands"):
        extra = {}
    fig = figures.figure(audio, kind, dpi=150, width=width, height=height, **extra)
    assert tuple(np.round(fig.get_size_inches() * 150)) == size
    assert _texts_outside(fig, 150) == []


@pytest.mark.parametrize("size", SIZES_PX[1:])
def test_no_text_leaves_the_canvas_eigen(audio, coding_report, size):
    # (at 400 x 300 px the eigen figure's in-axes legends do not fit; see the report)
    fig = figures.figure(audio, "eigen", dpi=150, width=size[0], height=size[1],
                        report=coding_report, blocks=(8,), rates=(1.0, 2.0))
    assert _texts_outside(fig, 150) == []


def test_eigen_wide_and_short_keeps_its_panels(audio, coding_report):
    # 1400 x 300 px: the in-axes legends are taller than the panels; they move beside them
    # instead of the layout squeezing both panels to nothing
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from sfm_audio.coding import run_experiment

    four_rates = run_experiment(audio, blocks=[8], rates=[0.5, 1.0, 2.0, 4.0]).report
    fig = figures.figure(audio, "eigen", dpi=150, width=1400, height=300, report=four_rates,
                        blocks=(8,))
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()
    for ax in fig.axes:
        assert ax.get_window_extent(renderer).height > 0.08 * 300  # was 2 px
    assert _texts_outside(fig, 150) == []


def test_fit_text_shrinks_only_what_must(audio):
    """A roomy figure keeps the house type; a small one gets smaller type that fits."""
    from sfm_audio import plot as splot

    big = figures.figure(audio, "flatness", dpi=100, width=1500, height=1000)
    assert big.axes[0].yaxis.label.get_fontsize() == pytest.approx(10.0)
    small = figures.figure(audio, "flatness", dpi=150, width=400, height=300)
    assert small.axes[0].yaxis.label.get_fontsize() < 10.0
    assert splot.fit_text(small) == 1.0  # already fitted: nothing more to do


@pytest.fixture(scope="module")
def stereo(tmp_path_factory) -> Path:
    """1 s at 8 kHz, float: a 440 Hz tone over faint noise left, white noise right."""
    rng = np.random.default_rng(5)
    t = np.arange(SR) / SR
    left = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.001 * rng.standard_normal(t.size)
    right = 0.2 * rng.standard_normal(t.size)
    path = tmp_path_factory.mktemp("audio") / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    return path


def _librosa_sfm(y: np.ndarray, bins: slice = slice(None)) -> np.ndarray:
    """Frame SFM from librosa's STFT (n_fft 512, hop 128, centred), over the given bins."""
    import librosa

    S = np.abs(librosa.stft(y, n_fft=512, hop_length=128, center=True)) ** 2
    P = np.maximum(S[bins], 1e-10)
    return np.exp(np.mean(np.log(P), axis=0)) / np.mean(P, axis=0)


def _sfm_line(axes) -> np.ndarray:
    (line,) = [ln for ax in axes for ln in ax.get_lines() if ln.get_label() == "SFM"]
    return np.asarray(line.get_ydata())


STFT = {"n_fft": 512, "hop_length": 128, "dpi": 50, "width": 400, "height": 300}


def test_channels_one_each_and_mix_match_librosa(stereo):
    y = sf.read(stereo, always_2d=True)[0].T
    fig = figures.figure(stereo, "flatness", channels=1, **STFT)
    np.testing.assert_allclose(_sfm_line(fig.axes), _librosa_sfm(y[1]), rtol=1e-6, atol=1e-12)
    assert "channel 1 of 2" in fig.get_suptitle()

    fig = figures.figure(stereo, "flatness", channels="each", **STFT)
    assert len(fig.subfigs) == 2
    for c, sub in enumerate(fig.subfigs):
        np.testing.assert_allclose(_sfm_line(sub.axes), _librosa_sfm(y[c]), rtol=1e-6,
                                   atol=1e-12)
        assert f"channel {c} of 2" in sub.get_suptitle()

    fig = figures.figure(stereo, "flatness", **STFT)  # the default: the mix, and it says so
    np.testing.assert_allclose(_sfm_line(fig.axes), _librosa_sfm(y.mean(axis=0)), rtol=1e-6,
                               atol=1e-12)
    assert "mix of 2 channels" in fig.get_suptitle()

    fig = figures.figure(stereo, "bands", channels="each", bands="octave", **STFT)
    assert [len(sub.axes) for sub in fig.subfigs] == [3, 3]  # map, means, colour bar


@pytest.mark.parametrize(
    ("kind", "channels", "match"),
    [
        ("flatness", 2, "channels=2 is out of range"),
        ("flatness", "left", "must be 'mix', 'each' or a channel index"),
        ("flatness", -1, "must be 'mix', 'each' or a channel index"),
        ("rd", 1, "channels=1 selects what the flatness and bands figures show"),
    ],
)
def test_bad_channels(stereo, kind, channels, match):
    with pytest.raises(ParameterError, match=match):
        figures.figure(stereo, kind, channels=channels, **STFT)


def test_fmin_fmax_match_librosa_on_the_same_bins(audio):
    y = sf.read(audio)[0]
    fig = figures.figure(audio, "flatness", fmin=500, fmax=2000, **STFT)
    k = np.arange(257) * SR / 512
    inside = (k >= 500) & (k <= 2000)
    np.testing.assert_allclose(_sfm_line(fig.axes), _librosa_sfm(y, inside), rtol=1e-6,
                               atol=1e-12)
    lo, hi = fig.axes[0].get_ylim()
    df = SR / 512
    assert lo == pytest.approx(k[inside][0] - df / 2)
    assert hi == pytest.approx(k[inside][-1] + df / 2)
    assert "bins 500–2000 Hz" in fig.get_suptitle()
    # the whole band is something else: the range is really applied
    assert not np.allclose(_sfm_line(fig.axes), _librosa_sfm(y), rtol=1e-3)


def test_fmax_above_nyquist_is_clipped_with_a_warning(audio):
    with pytest.warns(UserWarning, match="above Nyquist"):
        fig = figures.figure(audio, "flatness", fmax=10000, **STFT)
    full = figures.figure(audio, "flatness", **STFT)
    np.testing.assert_array_equal(_sfm_line(fig.axes), _sfm_line(full.axes))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"fmin": 2000, "fmax": 500}, "fmin=2000 Hz must be below fmax=500 Hz"),
        ({"fmin": -5}, "fmin=-5 must be a non-negative"),
        ({"fmin": 4000}, "is not below Nyquist"),
        ({"fmin": 1000, "fmax": 1010}, "it needs at least two"),
    ],
)
def test_bad_frequency_range(audio, options, match):
    with pytest.raises(ParameterError, match=match):
        figures.figure(audio, "flatness", **{**STFT, **options})


@pytest.fixture(scope="module")
def steady(tmp_path_factory) -> Path:
    """1 s of white noise: its flatness in dB barely moves from frame to frame."""
    rng = np.random.default_rng(6)
    path = tmp_path_factory.mktemp("audio") / "noise.wav"
    sf.write(path, 0.1 * rng.standard_normal(SR), SR, subtype="FLOAT")
    return path


def _db_axes(fig):
    (ax,) = [a for a in fig.axes if a.get_ylabel() == "SFM (dB)"]
    return ax


def test_db_range(steady):
    fig = figures.figure(steady, "flatness", **STFT)
    assert _db_axes(fig).get_ylim() == (-60.0, 0.0)  # not the data's 0.x dB
    fig = figures.figure(steady, "flatness", db_range=(-30, 5), **STFT)
    assert _db_axes(fig).get_ylim() == (-30.0, 5.0)
    fig = figures.figure(steady, "flatness", db_range=None, **STFT)
    ax = _db_axes(fig)
    (line,) = ax.get_lines()
    lo, hi = ax.get_ylim()
    assert lo <= line.get_ydata().min() and hi >= line.get_ydata().max() and hi - lo < 5


@pytest.mark.parametrize(
    ("db_range", "match"),
    [((0, -10), "LOW < HIGH"), ((5,), "two numbers"), ((float("nan"), 0), "finite"),
     ("abc", "two numbers")],
)
def test_bad_db_range(steady, db_range, match):
    with pytest.raises(ParameterError, match=match):
        figures.figure(steady, "flatness", db_range=db_range, **STFT)


def test_power_is_dbfs_of_a_full_scale_sine(tmp_path):
    """0 dBFS: a full-scale sine at a bin centre; a full-scale square wave reads +2.1 dB."""
    from matplotlib.collections import QuadMesh

    n_fft, k0 = 512, 8  # 125 Hz at 8 kHz: 64 samples per period
    n = np.arange(SR)
    square = np.where(n % 64 < 32, 1.0, -1.0)
    # fundamental of a ±1 square of 64 samples per period: (4 / 64) / sin(π / 64) ≈ 4/π
    square_db = 20 * np.log10((4 / 64) / np.sin(np.pi / 64))
    cases = [(np.cos(2 * np.pi * k0 * n / n_fft), 0.0),
             (0.5 * np.cos(2 * np.pi * k0 * n / n_fft), 20 * np.log10(0.5)),
             (square, square_db)]
    assert square_db == pytest.approx(2.10, abs=0.01)
    for i, (y, expected) in enumerate(cases):
        path = tmp_path / f"s{i}.wav"
        sf.write(path, y, SR, subtype="FLOAT")
        fig = figures.figure(path, "flatness", n_fft=n_fft, hop_length=128, dpi=100,
                            width=200, height=600)
        (mesh,) = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)]
        edges = mesh.get_coordinates()[:, 0, 1]
        power = np.asarray(mesh.get_array()).reshape(edges.size - 1, -1)
        (row,) = np.flatnonzero((edges[:-1] < 125) & (edges[1:] > 125))
        assert edges[row + 1] - edges[row] == pytest.approx(SR / n_fft)  # bin 8 alone
        # away from the zero-padded ends
        assert np.median(power[row, 10:-10]) == pytest.approx(expected, abs=0.01)
        assert "dBFS" in fig.axes[-1].get_ylabel() or any(
            "dBFS" in a.get_ylabel() for a in fig.axes)


def test_freq_scale_linear(audio):
    fig = figures.figure(audio, "flatness", freq_scale="linear", **STFT)
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0.0
    assert ax.get_ylim()[1] == pytest.approx(SR / 2 + SR / 512 / 2)
    from matplotlib.collections import QuadMesh

    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    widths = np.diff(mesh.get_coordinates()[:, 0, 1]) / (SR / 512)  # in bins
    np.testing.assert_allclose(widths, np.round(widths), atol=1e-9)  # whole bins per row
    assert widths.max() - widths.min() <= 1  # an even linear grid: sizes differ by one bin
    assert figures.figure(audio, "flatness", **STFT).axes[0].get_yscale() == "log"
    with pytest.raises(ParameterError, match="freq_scale='mel' must be one of log, linear"):
        figures.figure(audio, "flatness", freq_scale="mel", **STFT)


def test_cmap(audio):
    from matplotlib.collections import QuadMesh

    for kind, default in (("flatness", "magma"), ("bands", "viridis")):
        for cmap in (None, "gray_r"):
            fig = figures.figure(audio, kind, cmap=cmap, **STFT)
            (mesh,) = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)]
            assert mesh.get_cmap().name == (cmap or default)
    with pytest.raises(ParameterError, match="cmap='nope' is not a matplotlib colour map"):
        figures.figure(audio, "flatness", cmap="nope", **STFT)


@pytest.mark.parametrize("size", [(1000, 700), (700, 450)])
def test_band_labels_do_not_overlap(stereo, size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figures.figure(stereo, "bands", channels="each", bands="third-octave", dpi=100,
                        width=size[0], height=size[1])
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for sub in fig.subfigs:
        ax = sub.axes[0]
        boxes = sorted((t.get_window_extent(renderer) for t in ax.get_yticklabels()
                        if t.get_text()), key=lambda b: b.y0)
        assert len(boxes) >= 2
        assert all(a.y1 <= b.y0 + 0.5 for a, b in zip(boxes, boxes[1:], strict=False))
