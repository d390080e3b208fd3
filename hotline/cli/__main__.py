"""`python -m hotline.cli ...`: the same commands as the `hotline` script."""
from hotline.cli.main import main

main()
