"""docker/Dockerfile and docker/compose.yaml, checked statically (no Docker engine needed)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import yaml
from sqlalchemy.engine import make_url

from qsearch.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
TORCH_PIN = "torch==2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in dockerfile.read_text().splitlines()
                                         if not line.lstrip().startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _pip_installs(instructions: list[tuple[str, str]]) -> list[list[str]]:
    commands = []
    for word, rest in instructions:
        if word == "RUN":
            lexer = shlex.shlex(rest, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            args: list[str] = []
            for token in [*lexer, "&&"]:
                if token in ("&&", ";", "||", "|"):
                    if "pip" in args[:3] and "install" in args:
                        commands.append(args)
                    args = []
                else:
                    args.append(token)
    return commands


def _parse_qsearch(argv: list[str]) -> dict:
    """Parse a qsearch command line exactly as the CLI would (types, ranges, unknown options), running nothing."""
    group = typer.main.get_command(app)
    ctx = group.make_context("qsearch", list(argv))
    sub = group.get_command(ctx, argv[0])
    assert sub is not None, f"unknown qsearch command {argv[0]!r}"
    return sub.make_context(argv[0], list(argv[1:]), parent=ctx).params


def test_dockerfile_is_cpu_python311_and_installs_only_through_constraints():
    instructions = _instructions(DOCKER / "Dockerfile")
    assert instructions[0] == ("FROM", "python:3.11-slim")
    installs = _pip_installs(instructions)
    assert len(installs) >= 2
    for args in installs:
        assert "-c" in args and args[args.index("-c") + 1] == "constraints.txt", args
        named = [a for a in args if re.match(r"^torch(vision)?\b", a)]
        assert all(a in (TORCH_PIN, "torchvision==0.28.0") for a in named), f"unpinned torch: {args}"
        if named:
            assert "--index-url" in args and args[args.index("--index-url") + 1] == CPU_INDEX
        if CPU_INDEX in args:
            assert named == [TORCH_PIN], "only torch comes from the CPU index"
    assert any(TORCH_PIN in args for args in installs)
    # constraints.txt is in the image before the first install, and it pins what the Dockerfile assumes
    copies = [i for i, (w, rest) in enumerate(instructions) if w == "COPY" and "constraints.txt" in rest]
    first_install = next(i for i, (w, rest) in enumerate(instructions) if w == "RUN" and "pip" in rest)
    assert copies and copies[0] < first_install
    constraints = (ROOT / "constraints.txt").read_text().split()
    assert TORCH_PIN in constraints and "torchvision==0.28.0" in constraints
    assert '"torch==2.13.0"' in (ROOT / "pyproject.toml").read_text()


def test_dockerfile_copies_what_the_services_use(compose):
    copied = " ".join(rest for word, rest in _instructions(DOCKER / "Dockerfile") if word == "COPY")
    for path in ("constraints.txt", "pyproject.toml", "qsearch", "studies"):
        assert path in copied
        assert (ROOT / path).exists()
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    for path in ("constraints.txt", "pyproject.toml", "README.md", "qsearch/**", "studies/**"):
        assert f"!{path}" in ignore
    entrypoint = next(rest for word, rest in _instructions(DOCKER / "Dockerfile") if word == "ENTRYPOINT")
    assert yaml.safe_load(entrypoint) == ["qsearch"]


def test_compose_services_and_their_order(compose):
    services = compose["services"]
    assert {"postgres", "worker", "dashboard"} <= set(services)
    postgres = services["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    worker = services["worker"]
    assert worker["deploy"]["replicas"] == 4
    assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["dashboard"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    if "init" in services:  # tables created once, before the workers race
        assert worker["depends_on"]["init"]["condition"] == "service_completed_successfully"
    for name in ("worker", "dashboard"):
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"
        assert (DOCKER / services[name]["build"]["context"] / services[name]["build"]["dockerfile"]).is_file()
    assert services["dashboard"]["ports"] == ["127.0.0.1:8080:8080"]  # loopback only


def test_service_commands_are_valid_qsearch_command_lines(compose):
    services = compose["services"]
    env = services["postgres"]["environment"]
    worker = _parse_qsearch(services["worker"]["command"])
    assert Path(worker["study_file"]) == Path("studies/digits.yaml") and (ROOT / worker["study_file"]).is_file()
    assert worker["study_name"] == "digits" and worker["total_trials"] == 200 and worker["quiet"]
    assert worker["workers"] == "1"  # one process per replica: --scale sets the parallelism
    dashboard = _parse_qsearch(services["dashboard"]["command"])
    assert dashboard["host"] == "0.0.0.0" and dashboard["port"] == 8080
    urls = [worker["storage"], dashboard["storage"]]
    if "init" in services:
        urls.append(_parse_qsearch(services["init"]["command"])["storage"])
    for url in urls:
        parsed = make_url(url)
        assert parsed.drivername == "postgresql+psycopg" and parsed.host == "postgres" and parsed.port == 5432
        assert (parsed.username, parsed.password, parsed.database) == (
            env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"])
    import psycopg  # noqa: F401 - the driver the URLs name is a dependency of qsearch

    from qsearch.studyfile import load_study_file

    load_study_file(ROOT / worker["study_file"])


def test_a_bad_command_line_would_be_caught():
    with pytest.raises(Exception):  # noqa: B017 - click raises its own usage errors
        _parse_qsearch(["run", "studies/digits.yaml", "--total-trials", "0"])
    with pytest.raises(Exception):  # noqa: B017
        _parse_qsearch(["run", "studies/digits.yaml", "--no-such-option"])
