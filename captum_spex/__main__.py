"""``python -m captum_spex``: the command line (see :mod:`captum_spex.cli`)."""

from .cli import main

raise SystemExit(main())
