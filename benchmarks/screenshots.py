"""PNG screenshots of a study as qsearch shows it: the optuna-dashboard study page and the Pareto figure.

    python benchmarks/screenshots.py STORAGE STUDY OUTDIR

Serves ``qsearch dashboard``'s app for STORAGE on a free local port (in this process), writes the study's
pareto.html, and has headless chromium (Debian's ``/usr/bin/chromium``) photograph both into OUTDIR:
``dashboard_study.png`` (the study page: qsearch's figure, best trials, artifacts), ``dashboard_note.png`` (the
study note) and ``pareto.png``. The README shows the ones in ``docs/``; regenerate them after a default run:
``python benchmarks/screenshots.py sqlite:///qsearch.db digits docs``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


def screenshot(url: str, path: Path, size: str = "1400,900", wait_ms: int = 10000) -> Path:
    """One PNG of ``url`` by headless chromium (virtual time lets the page's scripts render first)."""
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={path}", f"--window-size={size}", f"--virtual-time-budget={wait_ms}", url],
                   check=True, capture_output=True, timeout=180)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storage")
    parser.add_argument("study")
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args()


    from qsearch.dashboard import dashboard_app
    from qsearch.plots import write_pareto_html
    from qsearch.record import read_study
    from qsearch.record.optuna_compat import study_id

    args.outdir.mkdir(parents=True, exist_ok=True)
    recorded = read_study(args.storage, args.study)
    summary, split = recorded.summary(), recorded.accuracy_split
    ident = study_id(recorded.study)
    server = make_server("127.0.0.1", 0, dashboard_app(args.storage), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/dashboard/studies/{ident}"
    try:
        written = [screenshot(base, args.outdir / "dashboard_study.png", size="1400,2600", wait_ms=15000),
                   screenshot(f"{base}/note", args.outdir / "dashboard_note.png", size="1400,700")]
        with tempfile.TemporaryDirectory() as tmp:
            html = write_pareto_html(summary, Path(tmp) / "pareto.html", title=f"qsearch study {args.study}",
                                     accuracy_split=split)
            written.append(screenshot(html.as_uri(), args.outdir / "pareto.png", size="1400,800"))
    finally:
        server.shutdown()
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
