"""The commands of the ``ferromem`` command line (see :mod:`ferromem.cli`)."""
