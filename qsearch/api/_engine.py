"""The one engine behind ``qsearch run`` and :func:`qsearch.run`: search with a progress bar, confirm the
finalists, and the one line a user's error becomes.

Both fronts call :func:`search` and :func:`confirm_study`; they differ only in how they show the result (the
command prints the front and writes ``pareto.html``; Python returns a :class:`~qsearch.api.StudyResult`).
Progress is ``tqdm.auto``: a bar in a terminal, a widget in Jupyter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import optuna

from qsearch.errors import QsearchError
from qsearch.execution import RunSettings, StopGate
from qsearch.record import RecordedStudy, mask_url, read_study
from qsearch.stops import StopReason
from qsearch.studyfile import StudyFile

#: completed trials between two refreshes of the dashboard note and figure during a run
DASHBOARD_REFRESH_TRIALS = 10
#: the warning for a study that selects on the test split (then test accuracy no longer estimates the pick's)
TEST_SELECTION_WARNING = ("accuracy_split: test makes the search and the selection see the test split; its "
                          "accuracies are then optimistic (use validation, the default)")
#: the database driver modules a storage URL may need (a missing one is the user's to install)
DRIVERS = ("psycopg", "psycopg2", "pymysql", "MySQLdb", "mysql", "grpc", "redis")

Echo = Callable[[str], None]
#: (recorded study, store the selected model) -> None: the dashboard view written into the study
Publish = Callable[[RecordedStudy, bool], None]


class ConfirmationInterrupted(QsearchError):
    """The end-of-run confirmation was interrupted; the folds it finished are kept."""


@dataclass(frozen=True)
class Searched:
    """What :func:`search` ran: the study it opened and how long the trials took (the confirmation's share)."""

    study: optuna.Study
    wall_s: float

    def read(self, settings: RunSettings) -> RecordedStudy:
        return read_study(settings.storage_url, settings.study_name, study=self.study)


def search(sf: StudyFile, settings: RunSettings, *, quiet: bool = False, publish: Publish | None = None,
           gate: StopGate | None = None) -> Searched:
    """Run the trials ``settings`` asks for in this process with a progress bar (``quiet``: none);
    ``publish`` refreshes the dashboard view every :data:`DASHBOARD_REFRESH_TRIALS` finished trials. The
    confirmation of the finalists (:func:`confirm_study`) is the caller's: a worker of ``--workers`` leaves it
    to its parent."""
    from tqdm.auto import tqdm

    from qsearch.execution import (
        BASELINE_PENDING_REASON,
        INTERRUPTED_REASON,
        QUOTA_REASON,
        execute,
        open_settings_study,
    )
    from qsearch.search import finished_trials

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_settings_study(sf, settings)
    start = finished_trials(study)
    total = (settings.total_trials - start) if settings.total_trials else settings.n_trials
    bar = tqdm(total=max(total, 0), desc=f"{settings.study_name} trials", unit="trial", disable=quiet,
               dynamic_ncols=True, mininterval=0.5)
    quiet_reasons = (QUOTA_REASON, INTERRUPTED_REASON, BASELINE_PENDING_REASON)

    def on_epoch(trial: int, epoch: int, loss: float, accuracy: float) -> None:
        bar.set_postfix_str(f"trial {trial} epoch {epoch + 1} loss {loss:.3f} val {100 * accuracy:.1f}%")

    finished = [0]

    def on_trial(_study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED):
            bar.update(1)
            finished[0] += 1  # the bar counts nothing when disabled (quiet)
            if publish is not None and finished[0] % DASHBOARD_REFRESH_TRIALS == 0:
                publish(read_study(settings.storage_url, settings.study_name, study=study), False)
        if trial.state == optuna.trial.TrialState.FAIL and trial.user_attrs.get("reason") not in quiet_reasons:
            bar.write(f"trial {trial.number} failed: {trial.user_attrs.get('reason', StopReason.ERROR)}")

    def on_tuning(trial: optuna.trial.FrozenTrial, total: int) -> None:
        if quiet:
            return
        which = " (the study file's settings)" if trial.number == 0 else ""
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            bar.write(f"baseline tuning {trial.number + 1}/{total}{which}: validation {trial.value:.1f} %")
        elif trial.state == optuna.trial.TrialState.PRUNED:
            bar.write(f"baseline tuning {trial.number + 1}/{total}{which}: stopped early "
                      f"({trial.user_attrs.get('reason', 'pruned')})")

    started = time.perf_counter()
    try:
        execute(sf, settings, callbacks=[on_trial], on_epoch=on_epoch, gate=gate, study=study,
                on_tuning=on_tuning)
    finally:
        bar.close()
    return Searched(study, time.perf_counter() - started)


def confirm_study(recorded: RecordedStudy, *, quiet: bool = False, study_wall_s: float | None = None,
                  echo: Echo = print) -> RecordedStudy:
    """Confirm ``recorded``'s finalists with a progress bar and one line on what was measured; the study read
    again afterwards. An interruption raises :class:`ConfirmationInterrupted` (the finished folds are kept)."""
    from tqdm.auto import tqdm

    from qsearch.confirm import confirm as confirm_finalists

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
        raise ConfirmationInterrupted(f"confirmation interrupted; the finished folds are kept: `qsearch confirm "
                                      f"--storage {mask_url(recorded.url)} --study-name {recorded.name}` resumes "
                                      "it") from None
    bar.close()
    if result.skipped is not None:
        echo(f"confirmation: {result.skipped}")
        return recorded
    share = ("" if not study_wall_s
             else f", {100 * result.wall_s / study_wall_s:.0f} % of the search's {study_wall_s:.0f} s")
    resumed = f"; {result.reused} kept from before" if result.reused else ""
    echo(f"confirmation: {recorded.selection.folds}-fold cross-validation of the float baseline and "
         f"{len(result.finalists)} finalists, {result.computed} retrainings in {result.wall_s:.0f} s"
         f"{share}{resumed}")
    for number, why in sorted(result.failed.items()):
        echo(f"confirmation: trial {number} stopped when retrained ({why}); it counts as wrong there")
    return read_study(recorded.url, recorded.name, study=recorded.study)


def user_error_line(error: BaseException, url: str | None = None) -> str | None:
    """The one line (credentials masked) for an error the user caused: a :class:`QsearchError`, the user's
    database refusing (SQLAlchemy and driver errors), a missing database driver, a database that failed under
    us. None for anything else: a bug, which keeps its traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, QsearchError):
        return one_line(error, url)
    if isinstance(error, SQLAlchemyError):
        from qsearch.record import describe_target

        target = describe_target(url) if url else "the database"
        return f"--storage: cannot use {target}: {one_line(getattr(error, 'orig', None) or error, url)}"
    if isinstance(error, ModuleNotFoundError):
        if url is None or error.name not in DRIVERS:
            return None
        return f"--storage: the database driver is not installed ({error.name})"
    from qsearch.record import StorageError

    failure = StorageError.behind(error, url) if url and isinstance(error, Exception) else None
    return None if failure is None else one_line(failure, url)


@contextmanager
def raised_as_one_line(url: str | None) -> Iterator[None]:
    """Python's edge: an error the user can fix leaves the block as one :class:`QsearchError` whose message
    is the line the command prints (credentials masked), without the chain behind it; a bug keeps its
    traceback."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - only the user's errors become a line (user_error_line)
        line = user_error_line(error, url)
        if line is None:
            raise
        one = error if isinstance(error, QsearchError) and str(error) == line else QsearchError(line)
        raise one.with_traceback(None) from None


def one_line(error: BaseException, url: str | None = None) -> str:
    """The first line of ``error``'s message, the storage URL in it masked."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if url and url in text:
        text = text.replace(url, mask_url(url))
    return text


__all__ = ["DASHBOARD_REFRESH_TRIALS", "TEST_SELECTION_WARNING", "ConfirmationInterrupted", "Searched",
           "confirm_study", "one_line", "raised_as_one_line", "search", "user_error_line"]
