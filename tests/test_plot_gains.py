"""The gains figure: measured against predicted with y = x and the agreement in the legend."""

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from sfm_audio import plot as splot
from sfm_audio._errors import ParameterError
from sfm_audio.agreement import agreement
from sfm_audio.cli import main
from sfm_audio.coding.gains import GAINS_COLUMNS


def test_legend_holds_the_agreement_against_y_equals_x():
    measured = {"adaptive": np.array([10.0, 20.0, 30.0]), "stationary": np.array([5.0, 6.0, 9.0])}
    predicted = {"adaptive": np.array([11.0, 19.0, 31.0]), "stationary": np.array([5.5, 6.0, 8.0])}
    fig = splot.gains(measured, predicted)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    a = agreement(measured["adaptive"], predicted["adaptive"])
    assert texts[0] == f"adaptive: {a.label()}" and "y = x" in texts
    with pytest.raises(ParameterError, match="same"):
        splot.gains(measured, {"adaptive": predicted["adaptive"]})


def test_far_points_are_counted_not_hidden():
    # two clips at -150 dB would squeeze twenty points into a corner: the axes stop above
    # them and a note gives their number, range and largest error; the legend keeps them
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(0, 40, 20), [-160.0, -130.0]])
    y = x + np.concatenate([rng.normal(0, 1, 20), [-2.0, 4.0]])
    fig = splot.gains({"stationary": y}, {"stationary": x})
    ax = fig.axes[0]
    assert -130 < ax.get_xlim()[0] < min(x[:20]) and ax.get_ylim()[0] > -130
    note = " ".join(t.get_text() for t in ax.texts)
    assert "2 below the axes" in note and "at most 4.0 dB" in note
    legend = ax.get_legend().get_texts()[0].get_text()
    assert legend.endswith("n 22")
    # without far points there is no note
    assert not splot.gains({"a": x[:20]}, {"a": y[:20]}).axes[0].texts


def test_plot_command_reads_a_gains_csv(tmp_path):
    table = tmp_path / "g.csv"
    with open(table, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(GAINS_COLUMNS)
        for i in range(4):
            row = {c: 1.0 + i for c in GAINS_COLUMNS}
            row.update(file=f"f{i}.wav", pcm_bits=8)
            w.writerow([row[c] for c in GAINS_COLUMNS])
    out = tmp_path / "g.png"
    result = CliRunner().invoke(main, ["plot", str(table), "--kind", "gains", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["plot", str(bad), "--kind", "gains", "-o",
                                       str(tmp_path / "b.png")])
    assert result.exit_code != 0 and "code --gains" in result.output
    assert not (tmp_path / "b.png").exists()


def test_frame_gains_figure_partial_residual_panel():
    m = np.array([1.0, 2.0, 3.0, 2.5])
    p = np.array([1.1, 1.9, 3.0, 2.4])
    e = np.array([2.0, 3.0, 3.5, 3.0])
    fig = splot.frame_gains(m, p, e)
    left, right = fig.axes[:2]
    x, y = right.get_lines()[1].get_data()
    np.testing.assert_allclose(x, p - e)
    np.testing.assert_allclose(y, m - e)
    assert agreement(m - e, p - e).label("bit") in [t.get_text()
                                                   for t in right.get_legend().get_texts()]
    with pytest.raises(ParameterError, match="like measured"):
        splot.frame_gains(m, p[:2], e)


def test_plot_frame_gains_command(tmp_path, speech):
    out = tmp_path / "fg.png"
    result = CliRunner().invoke(main, ["plot", str(speech), "--kind", "frame-gains",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
