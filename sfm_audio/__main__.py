from sfm_audio.cli import run

run()
