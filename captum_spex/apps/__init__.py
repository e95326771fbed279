"""Applications built on the library: the command line, the demo, offline models and prompts.

The library (``captum_spex.engine``, ``captum_spex.attr``, ...) never imports this package;
these modules import the library.

- :mod:`captum_spex.apps.cli`: ``captum-spex explain`` (also ``python -m captum_spex``).
- :mod:`captum_spex.apps.demo`: ``python -m captum_spex.demo``, a planted 1,000-feature run.
- :mod:`captum_spex.apps.models`: SmolLM2-135M-Instruct and all-MiniLM-L6-v2, offline.
- :mod:`captum_spex.apps.prompts`: question-answering prompts split into features.
"""
