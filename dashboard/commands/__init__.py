"""The command line: argparse, printing and exit codes; imported only by `python -m dashboard` and the tests."""
