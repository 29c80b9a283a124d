"""`python -m training_ground` is the `tg` command."""

from training_ground.cli import main

main()
