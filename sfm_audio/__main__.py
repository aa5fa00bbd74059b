from sfm_audio.cli import main

main(prog_name="sfm-audio")
