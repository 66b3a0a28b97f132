"""Are the finalists really within budget? Measure them again on data the search never chose with.

The search picks from ~150 noisy validation measurements, so the front's smallest models within budget are
also its luckiest (the winner's curse). A confirmation retrains the float baseline and each finalist on every
fold of a cross-validation over train + validation and pools the held-out folds into one paired drop per
finalist (:func:`confirm`); the pick is then judged on that (:mod:`qsearch.results._evidence`). Protocol,
soundness and cost: docs/selection.md.
"""

from qsearch.confirm._confirmation import ConfirmationRun, confirm, confirmation_plan

__all__ = ["ConfirmationRun", "confirm", "confirmation_plan"]
