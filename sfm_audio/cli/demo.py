"""``sfm-audio demo``: the whole project on the bundled recordings, every result in a folder.

:mod:`sfm_audio.demo` imports matplotlib and :mod:`sfm_audio.coding` only when the demo
runs, so loading this module (for ``--help``) stays cheap.
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import defaults
from ._common import handle_errors


@click.command()
@click.argument("outdir", default="sfm_demo", required=False)
@click.option("--data", "data_dir", default=None,
              help="Folder of recordings to use instead of the bundled ones.")
@click.option("--block", "block", type=int, default=defaults.FIGURE_BLOCK, show_default=True,
              help="Block size of the eigen and rate–distortion figures.")
@handle_errors
def demo(outdir, data_dir, block):
    """Run the whole project on the bundled recordings and write every result to OUTDIR.

    Writes the frame table and per-file summary (CSV), every figure (PNG), and the
    transform-coding report (JSON and a Markdown table), then lists what it wrote.
    """
    from ..demo import run_demo

    result = run_demo(outdir, data_dir=data_dir, block=block,
                      on_skip=lambda line: click.echo(line, err=True))
    click.echo(f"sfm-audio demo on {len(result.inputs)} recording(s) from {result.data_dir}:")
    for path, what in result.written:
        click.echo(f"  {path}  {what}")
    first = Path(outdir) / "flatness.png"
    click.echo(f"done in {result.seconds:.1f} s; open {first} first.")
