"""`python -m app.cli` runs the `assetmap` command line."""

from app.cli import main

main()
