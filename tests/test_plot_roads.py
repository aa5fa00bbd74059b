"""The prediction and duality figures (sfm_audio.plot, sfm_audio.figures) and the adaptive point
of the rd figure: they draw the numbers of the coding report and of the library."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from sfm_audio import figures
from sfm_audio import plot as splot
from sfm_audio._errors import ParameterError
from sfm_audio.coding.duality import duality_file

SR = 8000


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """2 s at 8 kHz: AR(2) noise whose loudness changes (seeded)."""
    rng = np.random.default_rng(11)
    e = rng.standard_normal(2 * SR)
    y = np.zeros_like(e)
    for i in range(2, e.size):
        y[i] = 1.6 * y[i - 1] - 0.8 * y[i - 2] + e[i]
    y *= 0.01 * (0.1 + np.abs(np.sin(2 * np.pi * np.arange(e.size) / 6000)))
    path = tmp_path_factory.mktemp("roads") / "ar2.wav"
    sf.write(path, y, SR, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def coding_report(audio):
    from sfm_audio.coding import run_experiment

    return run_experiment(audio, blocks=[4, 8], rates=[2.0]).report.to_dict()


def _line(ax, label):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


def test_prediction_figure_draws_the_report(audio, coding_report):
    fig = figures.figure(audio, "prediction", report=coding_report, blocks=(4, 8), dpi=50)
    ax_g, ax_s = fig.axes[:2]
    lpc = _line(ax_g, "linear prediction, order p")
    np.testing.assert_allclose(lpc.get_xdata(), [p["order"] for p in coding_report["prediction"]])
    np.testing.assert_allclose(lpc.get_ydata(),
                               [p["gain_db"] for p in coding_report["prediction"]])
    mdct = _line(ax_g, "MDCT, block N")
    np.testing.assert_allclose(
        mdct.get_ydata(), [b["transforms"]["mdct"]["coding_gain_db"]
                           for b in coding_report["blocks"]])
    # the KLT's in-sample gain overfits; the figure draws the held-out one
    klt = _line(ax_g, "KLT held out, block N")
    np.testing.assert_allclose(
        klt.get_ydata(), [b["transforms"]["klt"]["heldout_coding_gain_db"]
                          for b in coding_report["blocks"]])
    limit = [ln for ln in ax_g.get_lines() if ln.get_label().startswith("1/SFM")]
    assert limit[0].get_ydata()[0] == pytest.approx(coding_report["gain_limit_db"])
    labels = [ln.get_label() for ln in ax_s.get_lines()]
    assert any(lb.startswith("signal (SFM") for lb in labels)
    assert any(lb.startswith("residual, order 32") for lb in labels)
    # the residual is flat where the signal is not: its spectrum spans far fewer dB
    spans = {lb.split(" ")[0]: np.ptp(ln.get_ydata()) for lb, ln in
             zip(labels, ax_s.get_lines()) if "SFM" in lb}
    assert spans["residual,"] < 0.5 * spans["signal"]


def test_duality_figure_draws_the_library_numbers(audio, coding_report):
    fig = figures.figure(audio, "duality", report=coding_report, dpi=50)
    ax_p, ax_f = fig.axes[:2]
    d = duality_file(audio, block=512, rate=2.0)
    s = d.summary()
    points = [ln for ln in ax_p.get_lines() if ln.get_label().startswith("blocks")][0]
    np.testing.assert_allclose(points.get_xdata(), d.predicted_bits)
    np.testing.assert_allclose(points.get_ydata(), d.bits)
    assert f"R² = {s['r2_predicted']:.3f}" in points.get_label()
    assert f"{s['energy_coef']:.2f}·½log2(E/θ)" in ax_f.get_title()
    assert f"R² = {s['r2_fit']:.3f}" in ax_f.get_title()
    offsets = ax_f.collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 1], d.bits)
    np.testing.assert_allclose(offsets[:, 0], 0.5 * np.log2(d.sfm))
    # the numbers are the coding report's
    assert s["bits_per_sample"] == pytest.approx(coding_report["duality"]["bits_per_sample"])


def test_rd_figure_has_the_adaptive_coder(audio, coding_report):
    fig = figures.figure(audio, "rd", report=coding_report, blocks=(8,), dpi=50)
    d = coding_report["duality"]
    point = _line(fig.axes[0], "adaptive DCT, 512-sample frames measured")
    assert point.get_xdata()[0] == pytest.approx(d["bits_per_sample"])
    assert point.get_ydata()[0] == pytest.approx(d["snr_db"])


def test_render_writes(tmp_path, audio, coding_report):
    out = figures.render(audio, "duality", tmp_path / "duality.png", report=coding_report, dpi=40)
    assert out.stat().st_size > 0


@pytest.mark.parametrize("kind", ["prediction", "duality"])
def test_portrait_size_stacks_the_panels_and_fits_every_text(audio, coding_report, kind):
    # 333 x 777 px: side by side, each panel would be narrower than its legend and labels
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    blocks = {"blocks": (4, 8)} if kind == "prediction" else {}
    fig = figures.figure(audio, kind, report=coding_report, dpi=150, width=333, height=777,
                        **blocks)
    full_size = [ax.get_xlabel() for ax in figures.figure(audio, kind, report=coding_report,
                                                           dpi=50, **blocks).axes[:2]]
    renderer = FigureCanvasAgg(fig).get_renderer()
    top, bottom = (ax.get_window_extent(renderer) for ax in fig.axes[:2])
    assert top.y0 > bottom.y1  # one above the other
    assert min(top.width, bottom.width) > 0.4 * fig.bbox.width
    # the titles shrink rather than squeeze the panels (at full size: 7.5 % of the height)
    assert min(top.height, bottom.height) > 0.15 * fig.bbox.height
    box = fig.get_tightbbox(renderer)  # inches: nothing cut off
    assert box.x0 >= -0.01 and box.y0 >= -0.01
    assert box.x1 <= 333 / 150 + 0.01 and box.y1 <= 777 / 150 + 0.01
    for ax in fig.axes[:2]:
        frame = ax.get_window_extent(renderer)
        label = ax.xaxis.label
        assert label.get_window_extent(renderer).width <= frame.width + 1
        # wrapped, if at all, between words: the same words as drawn at full size
        assert label.get_text().split() == full_size.pop(0).split()
        legend = ax.get_legend()
        if legend is not None:
            assert legend.get_window_extent(renderer).width <= frame.width + 1
    landscape = figures.figure(audio, kind, report=coding_report, dpi=50, width=700,
                              height=300, **blocks)
    renderer = FigureCanvasAgg(landscape).get_renderer()
    left, right = landscape.axes[:2]
    assert left.get_window_extent(renderer).x1 < right.get_window_extent(renderer).x0
    # side by side, the titles are wrapped short of each other
    assert left.title.get_window_extent(renderer).x1 < right.title.get_window_extent(renderer).x0


def test_coding_kinds_refuse_spectrogram_options(audio):
    for kind in ("prediction", "duality"):
        with pytest.raises(ParameterError, match=f"kind={kind} uses the whole file"):
            figures.figure(audio, kind, start=0.5)


GOOD = {"orders": [1, 2], "gains_db": [3.0, 4.0], "blocks": [4, 8],
        "coding_gains_db": {"DCT": [2.0, 3.0]}, "limit_db": 5.0, "freqs": [0.0, 1.0, 2.0],
        "psd": [1.0, 2.0, 3.0], "residual_psd": [1.0, 1.0, 1.0]}


@pytest.mark.parametrize("change, match", [
    ({"gains_db": [1.0]}, "gains_db has shape"),
    ({"orders": [0, 2]}, "positive"),
    ({"coding_gains_db": {"DCT": [1.0]}}, "like blocks"),
    ({"psd": [1.0, -1.0, 1.0]}, "psd must be finite, non-negative"),
    ({"residual_psd": [0.0, 0.0, 0.0]}, "not all zero"),
    ({"freqs": [[1.0]]}, "1-D"),
    ({"limit_db": float("nan")}, "limit_db"),
])
def test_prediction_bad_inputs(change, match):
    args = {**GOOD, **change}
    with pytest.raises(ParameterError, match=match):
        splot.prediction(args.pop("orders"), args.pop("gains_db"), args.pop("blocks"),
                         args.pop("coding_gains_db"), args.pop("limit_db"), args.pop("freqs"),
                         args.pop("psd"), args.pop("residual_psd"), residual_order=2)


def test_duality_bad_inputs_and_given_axes():
    from matplotlib.figure import Figure

    fit = {"intercept": 1.0, "energy_coef": 0.9, "flatness_coef": 0.8, "r2": 0.95}
    with pytest.raises(ParameterError, match="bits has shape"):
        splot.duality([1.0, 2.0], [1.0], [1.0, 2.0], [-1.0, -2.0], fit=fit, r2_predicted=0.9)
    with pytest.raises(ParameterError, match="at least one block"):
        splot.duality([], [], [], [], fit=fit, r2_predicted=None)
    with pytest.raises(ParameterError, match="this figure needs 2"):
        splot.duality([1.0], [1.0], [1.0], [-1.0], fit=fit, r2_predicted=None,
                      axes=[Figure().add_subplot()])
    fig = Figure()
    axes = fig.subplots(1, 2)
    out = splot.duality([1.0, 2.0], [1.5, 2.5], [3.0, -np.inf], [-1.0, -2.0], fit=fit,
                        r2_predicted=None, axes=axes)
    assert out is fig
    assert len(axes[1].collections[0].get_offsets()) == 1  # the block of zeros is not drawn
