"""The flatness figure, reworked (issue 20): each test failed on the figure before."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from sfm_audio import extract, figures
from sfm_audio.cli import main

STFT = dict(n_fft=1024, hop_length=256)


@pytest.fixture
def speechlike(tmp_path):
    """Noise bursts between quiet stretches at 16 kHz: levels that cross -40 dBFS."""
    rng = np.random.default_rng(7)
    y = rng.normal(0, 0.001, 32000)
    y[8000:16000] += rng.normal(0, 0.2, 8000)
    y[24000:28000] += rng.normal(0, 0.1, 4000)
    path = tmp_path / "bursts.wav"
    sf.write(path, y, 16000, subtype="PCM_16")
    return path


def _bottom(fig):
    """The bottom panel's two axes: SFM (dB) and its twin."""
    axes = [a for a in fig.axes if a.get_ylabel() in ("SFM (dB)", "Level (dBFS)",
                                                     "Tonality")]
    return {a.get_ylabel(): a for a in axes}


def test_bottom_panel_shows_the_frame_level_not_tonality(speechlike):
    fig = figures.figure(speechlike, "flatness", width=100000, **STFT)
    panels = _bottom(fig)
    assert "Tonality" not in panels and "Level (dBFS)" in panels
    (line,) = panels["Level (dBFS)"].get_lines()
    want = extract(speechlike, bands=None, **STFT).values["rms_dbfs"][0]  # the extractor's
    np.testing.assert_allclose(line.get_ydata(), want, atol=1e-9)


def test_min_dbfs_marks_the_gated_frames(speechlike):
    level = extract(speechlike, bands=None, **STFT).values["rms_dbfs"][0]
    gated = int((level < -40).sum())
    assert 0 < gated < level.size
    fig = figures.figure(speechlike, "flatness", width=100000, min_dbfs=-40, **STFT)
    ax = _bottom(fig)["SFM (dB)"]
    assert f"{gated} of {level.size} frames below -40 dBFS" in ax.get_title(loc="left")
    assert ax.patches  # the gated runs are shaded
    result = CliRunner().invoke(main, ["plot", str(speechlike), "-o",
                                       str(speechlike.with_suffix(".png")), "--min-dbfs",
                                       "-40"])
    assert result.exit_code == 0, result.output


def test_a_pure_tone_extends_the_db_range_and_says_so(tmp_path):
    t = np.arange(48000) / 48000
    path = tmp_path / "sine.wav"
    sf.write(path, 0.3 * np.sin(2 * np.pi * 3000 * t), 48000, subtype="PCM_16")
    fig = figures.figure(path, "flatness", **STFT)
    ax = _bottom(fig)["SFM (dB)"]
    (line,) = ax.get_lines()
    lo, hi = ax.get_ylim()
    assert np.nanmin(line.get_ydata()) < -60  # below the fixed range that hid it
    assert lo <= np.nanmin(line.get_ydata()) and hi >= np.nanmax(line.get_ydata())
    assert "extended" in ax.get_title(loc="left")
    # a file inside the range keeps it, without a note
    fig = figures.figure(path, "flatness", db_range=(-200, 0), **STFT)
    assert _bottom(fig)["SFM (dB)"].get_title(loc="left") == ""


def test_log_frequency_axis_starts_at_20_hz_and_labels_the_top_decade(speechlike):
    fig = figures.figure(speechlike, "flatness", **STFT)
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert lo == pytest.approx(20.0) and hi > 7000
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert any(1000 < t < hi for t in ticks)  # 2k and 5k inside the top decade
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert "5k" in labels and "20" in labels


def test_channels_each_share_one_colour_scale(tmp_path):
    rng = np.random.default_rng(8)
    y = np.stack([rng.normal(0, 0.3, 16000), rng.normal(0, 0.003, 16000)])
    path = tmp_path / "loud_quiet.wav"
    sf.write(path, y.T, 16000, subtype="FLOAT")
    fig = figures.figure(path, "flatness", channels="each", **STFT)
    from matplotlib.collections import QuadMesh

    meshes = [c for a in fig.axes if a.get_ylabel() == "Frequency (Hz)"
              for c in a.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 2
    assert meshes[0].get_clim() == meshes[1].get_clim()


def test_standard_input_is_titled_standard_input(speechlike, tmp_path):
    import matplotlib.pyplot as plt

    out = tmp_path / "stdin.png"
    captured = {}
    original = figures.spectral._spectrogram_figure

    def spy(*args, **kwargs):
        fig = original(*args, **kwargs)
        captured["titles"] = [t.get_text() for t in fig.findobj(
            lambda o: hasattr(o, "get_text"))]
        return fig

    figures.spectral._spectrogram_figure = spy
    try:
        result = CliRunner().invoke(main, ["plot", "-", "-o", str(out)],
                                    input=speechlike.read_bytes())
    finally:
        figures.spectral._spectrogram_figure = original
    plt.close("all")
    assert result.exit_code == 0, result.output
    titles = " ".join(captured["titles"])
    assert "standard input: spectrogram" in titles and "-:" not in titles


def _axes_share(fig, ax) -> tuple[float, float]:
    """Width and area of ``ax`` as shares of the figure, once drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # lays the figure out
    box = ax.get_window_extent()
    w, h = canvas.get_width_height()
    return box.width / w, box.width * box.height / (w * h)


def test_one_file_lossless_figure_is_not_mostly_empty():
    """The legend of one file sat beside a square axes: 40 % of the figure was empty."""
    from sfm_audio import plot

    fig = plot.lossless([9.29], [9.03], ["arctic_a0007.wav, 16-bit"])
    width, area = _axes_share(fig, fig.axes[0])
    assert area > 0.55, area


def test_rd_legend_leaves_the_axes_the_width_at_the_demo_size():
    """At the demo's size rd's legend beside the axes took a third of the width."""
    from sfm_audio import plot

    rates = np.linspace(0.1, 4, 20)
    theory = {"stationary Gaussian R(D)": (rates, 6.02 * rates),
              "short-time Gaussian R(D)": (rates, 6.02 * rates + 5)}
    measured = {name: (np.array([0.5, 1, 2, 4]), np.array([3.0, 6, 12, 24]) + i)
                for i, name in enumerate(("KLT", "DCT", "MDCT", "PCM"))}
    fig = plot.rd(theory, measured, figsize=(7.0, 5.0))
    fig.set_dpi(100)
    width, _ = _axes_share(fig, fig.axes[0])
    assert width > 0.8, width
