"""``python -m qsearch.cli``: the same command line as the ``qsearch`` script."""

from qsearch.cli import main

main()
