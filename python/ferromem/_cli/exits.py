"""The exit codes of the ``ferromem`` command: each says what failed."""

from __future__ import annotations

__all__ = [
    "EXIT_BAD_RECORDS",
    "EXIT_DATABASE",
    "EXIT_MISSING_EXTRA",
    "EXIT_FILE",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_CODES_HELP",
]

EXIT_OK = 0
#: Some records of the input were bad (reported with their line numbers); the rest were stored.
EXIT_BAD_RECORDS = 1
#: The command line is wrong (argparse's own code).
EXIT_USAGE = 2
#: A file is missing, cannot be read or written, or is not in a format ferromem reads.
EXIT_FILE = 3
#: The database cannot be opened, is damaged, or a request to it is refused.
EXIT_DATABASE = 4
#: An optional dependency is missing (the message names the extra to install).
EXIT_MISSING_EXTRA = 5

EXIT_CODES_HELP = """exit codes:
  0  success
  1  some input records were bad (each reported with its line); the others were stored
  2  wrong command line
  3  a file is missing, cannot be read or written, or is not in a format ferromem reads
  4  the database cannot be opened or is damaged, or it refused the request
  5  an optional dependency is missing (the message names the extra to install)"""
