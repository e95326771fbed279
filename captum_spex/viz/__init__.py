"""Views of :class:`~captum_spex.Interactions`: Captum adapters, plots and an HTML report.

Importing this package is cheap: matplotlib (the ``viz`` extra) and Captum are imported by
the functions that need them, which raise an ImportError naming
``pip install "captum-spex[viz]"`` when matplotlib is missing. Every plot returns
``(fig, ax)`` like Captum's and calls ``plt.show()`` (returning None) only with
``show=True``.

Adapters into Captum's own views
    :func:`to_llm_attribution_result`, :func:`to_visualization_records`.
Interaction views Captum lacks
    :func:`plot_interaction_heatmap`, :func:`plot_top_interactions`,
    :func:`plot_text_interactions`, :func:`plot_image_interactions`.
Report
    :func:`html_report`.
"""

from captum_spex.viz.captum_adapters import to_llm_attribution_result, to_visualization_records
from captum_spex.viz.image import plot_image_interactions, segment_ids
from captum_spex.viz.plots import pairwise_matrix, plot_interaction_heatmap, plot_top_interactions
from captum_spex.viz.report import html_report
from captum_spex.viz.text import plot_text_interactions

__all__ = [
    "html_report",
    "pairwise_matrix",
    "plot_image_interactions",
    "plot_interaction_heatmap",
    "plot_text_interactions",
    "plot_top_interactions",
    "segment_ids",
    "to_llm_attribution_result",
    "to_visualization_records",
]
