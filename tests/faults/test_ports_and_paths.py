"""Where ``qsearch`` writes and listens, as a user meets it: an ``--out`` that cannot be written (an existing file,
a path under a file, a disk that fills up) and a dashboard address that cannot be listened on (busy port, port
out of range, unknown or foreign host) are one line naming the option, exit 2, no traceback and nothing written;
a successful ``qsearch plot`` is quiet and holds plotly.js once. Every command runs in a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from study_fixtures import tiny_study_dict

pytestmark = pytest.mark.faults

PLOTLY_JS_BYTES = 4_800_000  # plotly.js, once embedded in every HTML file


def _qsearch(*args: str, cwd: Path, timeout: float = 120, code: str | None = None) -> subprocess.CompletedProcess:
    """``qsearch ARGS`` in a subprocess (``code``: Python run before the CLI, to inject a fault)."""
    command = ([sys.executable, "-m", "qsearch.cli"] if code is None else
               [sys.executable, "-c", f"{code}\nimport sys\nfrom qsearch.cli import main\nsys.argv[0] = 'qsearch'\n"
                                      "main()"])
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def _one_line(done: subprocess.CompletedProcess, *expected: str) -> str:
    """Exit 2 and exactly one stderr line, ``qsearch: error: ...``, holding each of ``expected``."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert len(lines) == 1 and lines[0].startswith("qsearch: error: "), done.stderr
    for part in expected:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def study_db(tmp_path_factory) -> str:
    """A finished 4-trial synthetic study (seconds): the storage URL; its study is named ``tiny``."""
    folder = tmp_path_factory.mktemp("study")
    study = folder / "study.yaml"
    study.write_text(yaml.safe_dump(tiny_study_dict(trial_runner="synthetic", n_trials=4)))
    url = f"sqlite:///{folder / 's.db'}"
    done = _qsearch("run", str(study), "--storage", url, "--n-trials", "4", "--quiet", "--no-report",
                    "--workers", "1", cwd=folder, timeout=300)
    assert done.returncode == 0, done.stderr
    return url


def _file(tmp_path: Path) -> Path:
    existing = tmp_path / "existing_file"
    existing.write_text("keep me\n")
    return existing


def _unchanged(tmp_path: Path, existing: Path) -> None:
    assert existing.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing_file"]  # nothing written beside it either


# --- qsearch plot / export --out ----------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["plot", "export"])
@pytest.mark.parametrize("where", ["the file", "under the file", "deep under the file"])
def test_an_out_that_cannot_be_a_folder_is_one_line(tmp_path, study_db, command, where):
    existing = _file(tmp_path)
    out = {"the file": existing, "under the file": existing / "sub",
           "deep under the file": existing / "a" / "b"}[where]
    extra = ["--trial", "1"] if command == "export" else []
    done = _qsearch(command, "--storage", study_db, "--study-name", "tiny", *extra, "--out", str(out), cwd=tmp_path)
    line = _one_line(done, "--out: ", str(existing), "not a folder" if where == "the file" else "is a file")
    assert "Errno" not in line
    _unchanged(tmp_path, existing)


def test_export_refuses_the_out_before_the_study_is_read(tmp_path):
    existing = _file(tmp_path)
    for out in (existing, existing / "sub"):  # a storage that does not exist: the --out is refused first
        done = _qsearch("export", "--storage", f"sqlite:///{tmp_path / 'none.db'}", "--trial", "1",
                        "--out", str(out), cwd=tmp_path)
        _one_line(done, "--out: ")
    _unchanged(tmp_path, existing)


def test_a_full_disk_while_plotting_is_one_line_and_leaves_nothing(tmp_path, study_db):
    fault = ("import errno, plotly.graph_objects as go\n"
             "calls = []\n"
             "def write_html(self, file, *args, **kwargs):\n"
             "    calls.append(file)\n"
             "    if len(calls) == 2:\n"
             "        raise OSError(errno.ENOSPC, 'No space left on device', str(file))\n"
             "    open(file, 'w').write('<html></html>')\n"
             "go.Figure.write_html = write_html")
    out = tmp_path / "plots" / "new"
    done = _qsearch("plot", "--storage", study_db, "--study-name", "tiny", "--out", str(out), cwd=tmp_path,
                    code=fault)
    _one_line(done, "--out: cannot write ", "No space left on device")
    assert not (tmp_path / "plots").exists()  # the folders it made are gone with the figure it wrote


def test_plot_is_quiet_and_holds_plotly_js_once(tmp_path, study_db):
    out = tmp_path / "plots"
    done = _qsearch("plot", "--storage", study_db, "--study-name", "tiny", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "A new study created in memory" not in done.stdout + done.stderr
    assert done.stderr == "", done.stderr
    html = sorted(p.name for p in out.glob("*.html"))
    assert len(html) >= 3 and "pareto.html" in html, html
    size = sum(p.stat().st_size for p in out.iterdir())
    assert size < PLOTLY_JS_BYTES * 1.5, size  # was 4 x 4.8 MB: plotly.js in every file
    assert (out / "plotly.min.js").stat().st_size > 1_000_000
    for name in html:  # every figure loads the local copy, nothing from the network
        text = (out / name).read_text(encoding="utf-8")
        assert 'src="plotly.min.js"' in text and "https://cdn" not in text, name
        assert len(text) < 200_000, name
    again = _qsearch("plot", "--storage", study_db, "--study-name", "tiny", "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == "", again.stderr  # an existing folder is written again


# --- qsearch dashboard ----------------------------------------------------------------------------------------

def _dashboard(tmp_path: Path, url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``qsearch dashboard``, which should refuse and exit; killed (and the test failed) if it serves instead."""
    process = subprocess.Popen([sys.executable, "-m", "qsearch.cli", "dashboard", "--storage", url, *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"qsearch dashboard {' '.join(args)} served instead of refusing: {stdout} {stderr}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_a_busy_port_is_one_line_before_any_url_is_printed(tmp_path, study_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _dashboard(tmp_path, study_db, "--host", "127.0.0.1", "--port", str(port))
    _one_line(done, f"--port: 127.0.0.1:{port} is in use", "pick another with --port")
    assert "http://" not in done.stdout, done.stdout  # no URL for a server that never listened


@pytest.mark.parametrize("port", ["70000", "0", "-1"])
def test_a_port_out_of_range_is_one_usage_line(tmp_path, study_db, port):
    done = _dashboard(tmp_path, study_db, "--port", port)
    _one_line(done, "--port")
    assert done.stdout == ""


@pytest.mark.parametrize("host", ["256.1.1.1", "not-a-host.invalid"])
def test_an_unknown_host_is_one_line(tmp_path, study_db, host):
    done = _dashboard(tmp_path, study_db, "--host", host, "--port", "8080")
    _one_line(done, f"--host: {host!r} is not a host name or IPv4 address")
    assert done.stdout == ""


def test_an_address_of_another_machine_is_one_line(tmp_path, study_db):
    host = "192.0.2.1"  # TEST-NET-1 (RFC 5737): never an address of this machine
    done = _dashboard(tmp_path, study_db, "--host", host, "--port", "8080")
    _one_line(done, f"--host: {host} is not an address of this machine")
    assert done.stdout == ""
