"""``python -m captum_spex``: the command line (see :mod:`captum_spex.apps.cli`)."""

from .apps.cli import main

raise SystemExit(main())
