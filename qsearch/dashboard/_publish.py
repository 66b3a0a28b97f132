"""Write qsearch's view into a study so optuna-dashboard shows it: the note, the Pareto figure, the model.

Called at the end of every ``qsearch run`` (and every few trials during it); each call overwrites the
previous note and figure, so it is cheap and idempotent. The exported model of the selected trial is
stored once per selected trial as an Optuna artifact in a folder next to the storage.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import optuna

from qsearch.dashboard._note import note_markdown
from qsearch.results import FrontSummary

if TYPE_CHECKING:
    from qsearch.record import RecordedStudy  # the record layer imports torch; the dashboard's view need not

#: the first words of the float baseline's trial note
BASELINE_NOTE = "**float baseline**"
#: the id of qsearch's figure among the study's custom plots (saving again replaces it)
PARETO_GRAPH_ID = "qsearch-pareto"


def publish_view(study: optuna.Study, summary: FrontSummary) -> None:
    """Save the study note and the annotated Pareto figure (both from ``summary``) into ``study``."""
    accuracy_split = summary.accuracy_split
    from optuna_dashboard import save_note, save_plotly_graph_object

    from qsearch.plots import pareto_figure

    save_note(study, note_markdown(summary, study.study_name, accuracy_split=accuracy_split))
    figure = pareto_figure(summary, title=study.study_name, accuracy_split=accuracy_split, full_view=False)
    save_plotly_graph_object(study, figure, graph_object_id=PARETO_GRAPH_ID)


def _trial_note(study: optuna.Study, number: int, body: str) -> None:
    """A note on a recorded trial (optuna-dashboard keys trial notes by the storage's trial id)."""
    from optuna_dashboard import save_note

    from qsearch.record.optuna_compat import frozen_trial_id

    save_note(optuna.Trial(study, frozen_trial_id(study.get_trials(deepcopy=False)[number])), body)


def label_trials(study: optuna.Study, summary: FrontSummary, model: str | None = None) -> None:
    """Trial notes naming what a trial is to qsearch: the float baseline, the selected model, the knee."""
    if summary.baseline is not None:
        _trial_note(study, summary.baseline.trial_number,
                    f"{BASELINE_NOTE}: float32 weights and neurons, the reference of the accuracy budget; not a "
                    "candidate (its parameters are placeholders and it is marked infeasible).")
    marks = summary.marks()
    for number, mark in marks.items():
        body = f"**{mark}** by qsearch (see the study note)."
        if model is not None and summary.selected is not None and number == summary.selected.trial_number:
            body += f"\n\nExported model: [download]({model})"
        _trial_note(study, number, body)


def store_selected_model(recorded: RecordedStudy, summary: FrontSummary, artifact_dir: Path) -> str | None:
    """Export the selected trial and store it (a zip) as an artifact of the study; its artifact id.

    Optuna refuses artifacts on finished trials, so the model is a study artifact named after its trial
    (``<study>-trial<N>.zip``), stored once. None when there is no selected trial.
    """
    from optuna.artifacts import FileSystemArtifactStore, get_all_artifact_meta, upload_artifact

    from qsearch.export import export_trial

    if summary.selected is None:
        return None
    study = recorded.study
    number = summary.selected.trial_number
    filename = f"{study.study_name}-trial{number}.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        stored = [m for m in get_all_artifact_meta(study) if m.filename == filename]
    if stored:
        return stored[0].artifact_id
    artifact_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / filename.removesuffix(".zip")
        with warnings.catch_warnings():  # retraining may warn about its differing numbers; not the user's
            warnings.simplefilter("ignore")
            export_trial(recorded.url, study.study_name, number, folder, recorded=recorded,
                         artifact_dir=artifact_dir)
        archive = shutil.make_archive(str(folder), "zip", root_dir=folder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return upload_artifact(artifact_store=FileSystemArtifactStore(str(artifact_dir)), file_path=archive,
                                   study_or_trial=study)


def publish(recorded: RecordedStudy, *, artifact_dir: str | Path | None = None, store_model: bool = True) -> None:
    """Note, figure and (with ``store_model``) the selected model's artifact for the recorded study."""
    from qsearch.record.optuna_compat import study_id

    summary, study = recorded.summary(), recorded.study
    publish_view(study, summary)
    model = None
    from qsearch.record import artifact_dir_for

    folder = artifact_dir_for(recorded.url, artifact_dir)
    if store_model and folder is not None:
        artifact = store_selected_model(recorded, summary, folder)
        model = None if artifact is None else f"/artifacts/{study_id(study)}/{artifact}"
    label_trials(study, summary, model)
