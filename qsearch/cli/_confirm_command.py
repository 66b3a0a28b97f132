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
    """Confirm ``recorded``'s finalists with a progress bar; the study read again afterwards."""
    from tqdm import tqdm

    from qsearch.confirm import confirm as confirm_finalists
    from qsearch.record import read_study

    bar = tqdm(total=0, desc="confirming finalists", unit="fold", disable=quiet, dynamic_ncols=True,
               mininterval=0.5)

    def on_step(done: int, total: int, what: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(what, refresh=False)
        bar.refresh()

    try:
        result = confirm_finalists(recorded, on_step=on_step)
    except KeyboardInterrupt:
        bar.close()
        raise fail(f"confirmation interrupted; the finished folds are kept: `qsearch confirm --storage "
                   f"{recorded.url} --study-name {recorded.name}` resumes it", code=130) from None
    bar.close()
    if result.skipped is not None:
        typer.echo(f"confirmation: {result.skipped}")
        return recorded
    share = ("" if not study_wall_s
             else f", {100 * result.wall_s / study_wall_s:.0f} % of the search's {study_wall_s:.0f} s")
    resumed = f"; {result.reused} kept from before" if result.reused else ""
    typer.echo(f"confirmation: {recorded.selection.folds}-fold cross-validation of the float baseline and "
               f"{len(result.finalists)} finalists, {result.computed} retrainings in {result.wall_s:.0f} s"
               f"{share}{resumed}")
    for number, why in sorted(result.failed.items()):
        typer.echo(f"confirmation: trial {number} stopped when retrained ({why}); it counts as wrong there")
    return read_study(recorded.url, recorded.name, study=recorded.study)
