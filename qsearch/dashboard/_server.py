"""``qsearch dashboard``: optuna-dashboard over a storage, shown as qsearch sees the study.

Two fixes sit between optuna-dashboard (0.21) and the storage, both outside the dashboard's code:

- :class:`FeasibilityStorage` presents each trial's Optuna 5 constraints (``constraints:<name>`` system
  attributes, written by ``trial.set_constraint``) also as the legacy ``constraints`` list, the only form the
  dashboard reads; this works for studies stored before this fix too, and writes nothing.
- :class:`FeasibleBestTrials` (WSGI middleware) replaces the dashboard's "best trials" of a study — a Pareto
  front over every COMPLETE trial, infeasible ones and the float baseline included — by qsearch's feasible
  front (:func:`qsearch.results.summarize`, the one ``qsearch best`` prints).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import optuna
from optuna.trial import FrozenTrial

from qsearch.dashboard._display import display_user_attrs

#: the trial system attribute optuna-dashboard reads feasibility from (a list; all <= 0 means feasible)
LEGACY_CONSTRAINTS = "constraints"


def with_legacy_constraints(trial: FrozenTrial) -> FrozenTrial:
    """``trial`` as the dashboard should see it: its constraints also as the legacy list (sorted by name) and
    its user attributes as :func:`~qsearch.dashboard._display.display_user_attrs` shows them."""
    shown = copy.copy(trial)
    constraints = trial.constraints
    if constraints and LEGACY_CONSTRAINTS not in trial.system_attrs:
        shown.system_attrs = {**trial.system_attrs,
                              LEGACY_CONSTRAINTS: [constraints[k] for k in sorted(constraints)]}
    shown.user_attrs = display_user_attrs(trial.user_attrs)
    return shown


def _delegate(name: str) -> Callable:
    def method(self: FeasibilityStorage, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._backend, name)(*args, **kwargs)

    method.__name__ = name
    return method


def without_credentials(attrs: dict[str, Any]) -> dict[str, Any]:
    """Study user attributes with the recorded study file's storage password masked (studies recorded before
    qsearch masked it when writing still hold it)."""
    from qsearch.record import mask_study_file
    from qsearch.search import STUDY_FILE_ATTR

    spec = attrs.get(STUDY_FILE_ATTR)
    if not isinstance(spec, dict):
        return attrs
    return {**attrs, STUDY_FILE_ATTR: mask_study_file(spec)}


class FeasibilityStorage(optuna.storages.BaseStorage):
    """A view of an Optuna storage whose trials carry the legacy ``constraints`` attribute and whose studies
    show no storage password; every other call (writes included: notes saved in the dashboard) goes to the
    storage unchanged."""

    def __init__(self, backend: optuna.storages.BaseStorage) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:  # e.g. a storage's own extras (RDB's engine)
        return getattr(self._backend, name)

    def get_all_trials(self, study_id: int, deepcopy: bool = True, states=None) -> list[FrozenTrial]:
        trials = self._backend.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        return [with_legacy_constraints(t) for t in trials]

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return with_legacy_constraints(self._backend.get_trial(trial_id))

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return without_credentials(self._backend.get_study_user_attrs(study_id))

    def get_all_studies(self) -> list[Any]:  # FrozenStudy, which optuna 5 does not export
        studies = []
        for study in self._backend.get_all_studies():
            shown = copy.copy(study)  # FrozenStudy's user_attrs is a public field; the storage's copy stays as is
            shown.user_attrs = without_credentials(study.user_attrs)
            studies.append(shown)
        return studies


for _name in sorted(optuna.storages.BaseStorage.__abstractmethods__ - set(vars(FeasibilityStorage))):
    setattr(FeasibilityStorage, _name, _delegate(_name))
FeasibilityStorage.__abstractmethods__ = frozenset()


_STUDY_DETAIL = re.compile(r"/api/studies/(\d+)/?")
FrontNumbers = Callable[[str, int], set[int] | None]


def _feasible(trial: dict[str, Any]) -> bool:
    constraints = trial.get("constraints") or []
    return bool(constraints) and all(c <= 0 for c in constraints)


class FeasibleBestTrials:
    """WSGI middleware: the study detail's ``best_trials`` become qsearch's feasible Pareto front.

    ``front_numbers(study_name, n_trials)`` gives the trial numbers of that front (None when the study is
    not qsearch's: then only infeasible trials are dropped from the dashboard's own best trials). The
    dashboard is asked for every trial (``after`` removed) so each front trial can be listed; the client's
    ``after`` is applied to the trials afterwards.
    """

    def __init__(self, app: Callable, front_numbers: FrontNumbers) -> None:
        self.app = app
        self.front_numbers = front_numbers

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or not _STUDY_DETAIL.fullmatch(environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        after = query.pop("after", "0")
        inner = {**environ, "QUERY_STRING": urlencode(query)}
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self.app(inner, capture))
        if captured["status"].startswith("200"):
            try:
                body = self._rewrite(json.loads(body), int(after))
            except ValueError:  # a bad ``after``: let the dashboard answer it as it does
                return self.app(environ, start_response)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _rewrite(self, detail: dict[str, Any], after: int) -> bytes:
        if after < 0:
            raise ValueError(after)
        trials = detail["trials"]
        numbers = self.front_numbers(detail["name"], len(trials))
        if numbers is None:
            detail["best_trials"] = [t for t in detail["best_trials"] if _feasible(t)]
        else:
            detail["best_trials"] = [t for t in trials if t["number"] in numbers]
        detail["trials"] = trials[after:]
        return json.dumps(detail).encode()


def _front_numbers_of(url: str) -> FrontNumbers:
    """``front_numbers`` for a storage URL, recomputed only when a study's trial count changes."""
    cache: dict[str, tuple[int, set[int] | None]] = {}

    def front_numbers(name: str, n_trials: int) -> set[int] | None:
        if name in cache and cache[name][0] == n_trials:
            return cache[name][1]
        from qsearch.record import read_study

        try:
            summary = read_study(url, name).summary()
            numbers = {r.trial_number for r in summary.front} if summary.rows else None
        except Exception:  # not a qsearch study (no results rows, unknown objectives): fall back
            numbers = None
        cache[name] = (n_trials, numbers)
        return numbers

    return front_numbers


def dashboard_app(url: str, artifact_dir=None) -> Callable:
    """The WSGI app ``qsearch dashboard`` serves: optuna-dashboard over :class:`FeasibilityStorage`, with
    :class:`FeasibleBestTrials`, and the storage's artifact folder (see ``artifact_dir_for``) when it exists."""
    import warnings

    from optuna.artifacts import FileSystemArtifactStore
    from optuna_dashboard import wsgi

    from qsearch.record import artifact_dir_for, make_storage

    folder = artifact_dir_for(url, artifact_dir)
    store = FileSystemArtifactStore(str(folder)) if folder is not None and folder.is_dir() else None
    # abstract methods are forwarded (see __abstractmethods__ below): mypy cannot see that
    storage = FeasibilityStorage(make_storage(url, heartbeat_interval=None))  # type: ignore[abstract]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        app = wsgi(storage, artifact_store=store)
    return FeasibleBestTrials(app, _front_numbers_of(url))


def serve(url: str, host: str, port: int, artifact_dir=None, *,
          on_listening: Callable[[str], None] | None = None) -> None:
    """Serve :func:`dashboard_app` until interrupted (wsgiref, as optuna-dashboard's ``run_server`` does).

    The server is made (the address bound) first: an address that cannot be listened on raises the
    :class:`OSError` of the bind (``EADDRINUSE``, ``EADDRNOTAVAIL``, :class:`socket.gaierror` for an unknown host)
    before anything is served. Then ``on_listening`` is called with the URL (``http://host:port/``), and only
    then does it serve; an ``OSError`` after ``on_listening`` is the server's, not the address's.
    """
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    app = dashboard_app(url, artifact_dir)
    server = make_server(host, port, app, handler_class=_Quiet)  # binds and listens: may raise OSError
    with server:
        if on_listening is not None:
            on_listening(f"http://{host}:{server.server_port}/")
        server.serve_forever()
