"""``qsearch confirm``: measure a study's finalists again by cross-validation (also the end of ``qsearch run``),
and the words that say how sure the pick is."""

from __future__ import annotations

from typing import Annotated

import typer

from qsearch.cli._app import DEFAULT_STORAGE, StorageOpt, StudyNameOpt, app, fail, user_errors
from qsearch.record import RecordedStudy


@app.command()
def confirm(
    storage: StorageOpt = DEFAULT_STORAGE,
    study_name: StudyNameOpt = "qsearch",
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
) -> None:
    """Retrain the float baseline and the finalists on every cross-validation fold (resumes where an interrupted
    confirmation stopped), then show the pick and how sure it is."""
    from qsearch.cli._views import show_front
    from qsearch.record import read_study

    with user_errors(storage):
        recorded = read_study(storage, study_name)
        recorded = run_confirmation(recorded, quiet=quiet)
        show_front(recorded)


def run_confirmation(recorded: RecordedStudy, *, quiet: bool = False,
                     study_wall_s: float | None = None) -> RecordedStudy:
    """Confirm ``recorded``'s finalists (:func:`qsearch.api.confirm_study`); an interruption exits 130."""
    from qsearch.api import ConfirmationInterrupted, confirm_study

    try:
        return confirm_study(recorded, quiet=quiet, study_wall_s=study_wall_s, echo=typer.echo)
    except ConfirmationInterrupted as stop:
        raise fail(str(stop), code=130) from None
