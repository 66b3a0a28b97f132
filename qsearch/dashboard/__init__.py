"""qsearch's view of a study inside optuna-dashboard: what the dashboard is shown and what qsearch writes.

``publish`` writes the study note, the annotated Pareto figure and the selected model's artifact (end of
every run); ``dashboard_app`` / ``serve`` serve optuna-dashboard with feasibility and qsearch's front.
"""

from qsearch.dashboard._note import NOTE_HEADING, note_markdown
from qsearch.dashboard._publish import (
    PARETO_GRAPH_ID,
    publish,
    publish_view,
    store_selected_model,
)
from qsearch.dashboard._server import FeasibilityStorage, FeasibleBestTrials, dashboard_app, serve

__all__ = [
    "NOTE_HEADING", "PARETO_GRAPH_ID", "FeasibilityStorage", "FeasibleBestTrials", "dashboard_app",
    "note_markdown", "publish", "publish_view", "serve", "store_selected_model",
]
