"""The Fargate worker: its entrypoint against moto, and its Dockerfile read statically (no Docker engine here)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "worker-test")

from pipeline import steps
from pipeline.context import Dependencies
from pipeline.objects import UploadEvent
from pipeline.process import process
from pipeline.records import ImageRecords
from worker import main as worker

from tests.handlers.conftest import Pipeline

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
WORKER_DIR = HANDLERS / "worker"
REGION = "eu-west-1"
UPLOAD_PREFIX = "uploads/"
OLD_SEQUENCER = "0055AED6DCD90281E5"
NEW_SEQUENCER = "0055AED6DCD90281F0"

LogLines = Callable[[], list[dict[str, Any]]]


# --- fixtures: fake AWS, the pipeline's resources, log capture -------------------------------------------------


@pytest.fixture
def resources(pipeline_resources: Pipeline) -> Pipeline:
    """The handlers' fake AWS (tests/handlers/conftest.py): versioned uploads, results, images and idempotency."""
    return pipeline_resources


@pytest.fixture
def fake_credentials(aws_credentials: None) -> None:
    """Fake credentials without moto, for the tests that must fail before touching AWS."""


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    directory = tmp_path / "scratch"
    directory.mkdir()
    return directory


@pytest.fixture
def settings(resources: Pipeline, scratch: Path) -> dict[str, str]:
    """The container's environment, less the upload's references: what the task definition sets."""
    return {
        "TABLE_NAME": resources.table_name,
        "RESULTS_BUCKET": resources.results_bucket,
        "IDEMPOTENCY_TABLE": resources.idempotency_table,
        "UPLOAD_PREFIX": UPLOAD_PREFIX,
        "WORKER_MEMORY_MB": "8192",
        "TMPDIR": str(scratch),
    }


@pytest.fixture
def aws_dependencies(settings: dict[str, str]) -> Dependencies:
    """The process Lambda's view, for preparing work items: a small function, so uploads are routed to Fargate."""
    return Dependencies.from_environment({**settings, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"})


@pytest.fixture
def worker_logs() -> Iterator[LogLines]:
    """The worker's log lines so far, parsed, as Powertools formats them.

    Powertools writes to the sys.stdout of import time, which capsys does not see; a second handler sharing its
    formatter (which holds the appended keys, the correlation id included) receives the same lines.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(worker.logger.registered_formatter)
    stdlib_logger = logging.getLogger(worker.logger.name)
    stdlib_logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    stdlib_logger.removeHandler(handler)


# --- helpers ---------------------------------------------------------------------------------------------------


def jpeg(width: int = 1600, height: int = 1200) -> bytes:
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def corrupt_jpeg() -> bytes:
    """A real JPEG's headers, garbage where the compressed pixels should be, and the end-of-image marker: it passes
    validation (header and structure are fine) and fails only when decoded, which is the worker's job."""
    data = jpeg()
    start_of_scan = data.index(b"\xff\xda")
    return data[: start_of_scan + 20] + bytes((i * 37) % 256 for i in range(5000)) + b"\xff\xd9"


def upload(resources: Pipeline, key: str, body: bytes, sequencer: str = OLD_SEQUENCER) -> dict[str, Any]:
    """Puts the object and returns the EventBridge "Object Created" event S3 would send for it."""
    put = resources.s3.put_object(Bucket=resources.uploads_bucket, Key=key, Body=body, ContentType="image/jpeg")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "111122223333",
        "time": "2026-11-27T00:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{resources.uploads_bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": resources.uploads_bucket},
            "object": {
                "key": key,
                "size": len(body),
                "etag": put["ETag"].strip('"'),
                "version-id": put["VersionId"],
                "sequencer": sequencer,
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "111122223333",
            "source-ip-address": "192.0.2.1",
            "reason": "PutObject",
        },
    }


def references(event: dict[str, Any]) -> dict[str, str]:
    """The container overrides the heavy-path workflow sets (app/heavy.py): the upload's references only."""
    return {
        "UPLOAD_BUCKET": event["detail"]["bucket"]["name"],
        "UPLOAD_OBJECT": json.dumps(event["detail"]["object"]),
        "EVENT_ID": event["id"],
    }


def record(resources: Pipeline, key: str) -> dict[str, Any]:
    item = resources.dynamodb.get_item(TableName=resources.table_name, Key={"objectKey": {"S": key}})["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def rendition_keys(resources: Pipeline) -> list[str]:
    listing = resources.s3.list_objects_v2(Bucket=resources.results_bucket)
    return sorted(entry["Key"] for entry in listing.get("Contents", []))


def last_line(lines: list[dict[str, Any]]) -> dict[str, Any]:
    assert lines, "the worker logged nothing"
    return lines[-1]


# --- the entrypoint against moto -------------------------------------------------------------------------------


def test_renders_the_work_item_and_completes_the_record(
    resources: Pipeline,
    settings: dict[str, str],
    aws_dependencies: Dependencies,
    scratch: Path,
    worker_logs: LogLines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = f"{UPLOAD_PREFIX}holiday/beach.jpg"
    event = upload(resources, key, jpeg())
    validation = process(event, aws_dependencies)
    assert validation["route"] == "fargate", validation["routeReason"]
    downloads: list[Path] = []

    def spy(*args: Any, **kwargs: Any) -> Path:
        path = real_download(*args, **kwargs)
        downloads.append(path)
        return path

    real_download = steps.download
    monkeypatch.setattr(steps, "download", spy)
    tempdir_before = tempfile.tempdir

    code = worker.main([], {**settings, **references(event)})

    assert code == worker.EXIT_OK, worker_logs()
    version = event["detail"]["object"]["version-id"]
    expected = [f"renditions/holiday/beach.jpg/{version}/{size}.jpg" for size in (1024, 128, 512)]
    assert rendition_keys(resources) == expected
    stored = record(resources, key)
    assert stored["status"] == "COMPLETE"
    assert sorted(entry["M"]["key"]["S"] for entry in stored["renditions"]) == expected
    assert [path.parent for path in downloads] == [scratch], "one download, to $TMPDIR"
    assert list(scratch.iterdir()) == [], "the downloaded original must be removed"
    assert tempfile.tempdir == tempdir_before, "tempfile's default directory must be restored"
    result = last_line(worker_logs())
    assert result["message"] == "Work item rendered"
    assert result["exitCode"] == 0
    assert result["correlation_id"] == event["id"]
    assert result["objectKey"] == key
    assert result["result"]["status"] == "COMPLETE"
    assert sorted(rendition["key"] for rendition in result["result"]["renditions"]) == expected


def test_a_corrupt_image_exits_2_and_fails_the_record(
    resources: Pipeline, settings: dict[str, str], aws_dependencies: Dependencies, worker_logs: LogLines
) -> None:
    key = f"{UPLOAD_PREFIX}broken.jpg"
    event = upload(resources, key, corrupt_jpeg())
    process(event, aws_dependencies)  # header and structure pass: only decoding can tell

    code = worker.main([], {**settings, **references(event)})

    assert code == worker.EXIT_REFUSED
    line = last_line(worker_logs())
    assert line["level"] == "ERROR"
    assert line["error"] == "CorruptImage"
    assert "cannot be decoded" in line["reason"]
    assert line["objectKey"] == key
    assert line["correlation_id"] == event["id"]
    stored = record(resources, key)
    assert stored["status"] == "FAILED"
    assert stored["error"] == "CorruptImage"
    assert stored["cause"] == line["reason"]
    assert rendition_keys(resources) == []


def test_an_object_gone_since_validation_exits_2(
    resources: Pipeline, settings: dict[str, str], aws_dependencies: Dependencies, worker_logs: LogLines
) -> None:
    key = f"{UPLOAD_PREFIX}gone.jpg"
    event = upload(resources, key, jpeg())
    process(event, aws_dependencies)
    version = event["detail"]["object"]["version-id"]
    resources.s3.delete_object(Bucket=resources.uploads_bucket, Key=key, VersionId=version)

    code = worker.main([], {**settings, **references(event)})

    assert code == worker.EXIT_REFUSED, worker_logs()
    assert last_line(worker_logs())["error"] == "ObjectNotFound"
    assert record(resources, key)["status"] == "FAILED"


def test_a_newer_upload_that_took_over_exits_3_and_keeps_its_record(
    resources: Pipeline, settings: dict[str, str], aws_dependencies: Dependencies, worker_logs: LogLines
) -> None:
    key = f"{UPLOAD_PREFIX}replaced.jpg"
    older = upload(resources, key, jpeg(), sequencer=OLD_SEQUENCER)
    process(older, aws_dependencies)
    newer = upload(resources, key, jpeg(800, 600), sequencer=NEW_SEQUENCER)
    ImageRecords(resources.dynamodb, resources.table_name).claim(UploadEvent.parse(newer))

    code = worker.main([], {**settings, **references(older)})

    assert code == worker.EXIT_STALE, worker_logs()
    line = last_line(worker_logs())
    assert line["level"] == "WARNING"
    assert line["error"] == "StaleEvent"
    assert line["objectKey"] == key
    stored = record(resources, key)
    assert stored["rawSequencer"] == NEW_SEQUENCER
    assert stored["status"] == "PROCESSING"
    assert rendition_keys(resources) == [], "the superseded run must delete the renditions it wrote"


# --- refusing to start -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "$UPLOAD_BUCKET and $UPLOAD_OBJECT must be set"),
        ({"UPLOAD_BUCKET": "b", "UPLOAD_OBJECT": ""}, "$UPLOAD_BUCKET and $UPLOAD_OBJECT must be set"),
        ({"UPLOAD_BUCKET": "b", "UPLOAD_OBJECT": "{not json"}, "is not an S3 event's `detail.object`"),
        ({"UPLOAD_BUCKET": "b", "UPLOAD_OBJECT": '{"key": "uploads/a.jpg"}'}, "sequencer"),
    ],
    ids=["unset", "empty", "not-json", "no-sequencer"],
)
def test_unusable_references_exit_1_with_a_clear_reason(
    fake_credentials: None, scratch: Path, worker_logs: LogLines, variables: dict[str, str], expected: str
) -> None:
    code = worker.main([], {"TMPDIR": str(scratch), **variables})

    assert code == worker.EXIT_FAILED
    line = last_line(worker_logs())
    assert line["error"] == "WorkerError"
    assert expected in line["reason"]
    assert "exception" not in line, "an expected refusal needs no traceback"


def _read_only(error: int) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(error, os.strerror(error))

    return refuse


@pytest.mark.parametrize("case", ["missing", "a-file", "read-only-filesystem"])
def test_an_unwritable_scratch_dir_exits_1_before_touching_aws(
    resources: Pipeline,
    settings: dict[str, str],
    aws_dependencies: Dependencies,
    tmp_path: Path,
    worker_logs: LogLines,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    key = f"{UPLOAD_PREFIX}never.jpg"
    event = upload(resources, key, jpeg())
    process(event, aws_dependencies)
    scratch = tmp_path / "tmp"
    if case == "a-file":
        scratch.write_text("")
    elif case == "read-only-filesystem":
        scratch.mkdir()
        monkeypatch.setattr(tempfile, "mkstemp", _read_only(30))  # EROFS: the root fs with no volume mounted

    code = worker.main([], {**settings, "TMPDIR": str(scratch), **references(event)})

    assert code == worker.EXIT_FAILED
    line = last_line(worker_logs())
    assert line["error"] == "ScratchUnavailable"
    assert f"scratch directory {scratch} ($TMPDIR) is not writable" in line["reason"]
    assert line["objectKey"] == key
    assert record(resources, key)["status"] == "PROCESSING", "a worker that cannot start must not touch the record"
    assert rendition_keys(resources) == []


def test_a_scratch_dir_smaller_than_the_object_exits_1_before_downloading(
    resources: Pipeline,
    settings: dict[str, str],
    aws_dependencies: Dependencies,
    worker_logs: LogLines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = f"{UPLOAD_PREFIX}huge.jpg"
    event = upload(resources, key, jpeg())
    process(event, aws_dependencies)
    real = shutil.disk_usage
    monkeypatch.setattr(worker.shutil, "disk_usage", lambda path: real(path)._replace(free=1000))

    code = worker.main([], {**settings, **references(event)})

    assert code == worker.EXIT_FAILED
    line = last_line(worker_logs())
    assert line["error"] == "ScratchUnavailable"
    assert "has 1,000 bytes free; the object is" in line["reason"]
    assert record(resources, key)["status"] == "PROCESSING"


def test_missing_settings_exit_1_naming_the_variable(
    resources: Pipeline, settings: dict[str, str], worker_logs: LogLines
) -> None:
    event = upload(resources, f"{UPLOAD_PREFIX}a.jpg", jpeg())
    environ = {name: value for name, value in settings.items() if name != "RESULTS_BUCKET"}

    code = worker.main([], {**environ, **references(event)})

    assert code == worker.EXIT_FAILED
    line = last_line(worker_logs())
    assert line["error"] == "ConfigurationError"
    assert "RESULTS_BUCKET" in line["reason"]
    assert "exception" not in line


def test_worker_memory_stands_in_for_the_lambda_memory_setting(
    resources: Pipeline, settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Dependencies] = []

    def capture(upload: UploadEvent, local: Path, header: Any, dependencies: Dependencies) -> dict[str, Any]:
        built.append(dependencies)
        return {"objectKey": "k", "status": "COMPLETE", "renditions": []}

    monkeypatch.setattr(worker, "render_upload", capture)
    environ = {**settings, **references(upload(resources, f"{UPLOAD_PREFIX}a.jpg", jpeg()))}

    assert worker.main([], {**environ, "WORKER_MEMORY_MB": "16384"}) == worker.EXIT_OK
    assert built[0].memory_mb == 16384
    assert worker.main([], {**environ, "WORKER_MEMORY_MB": "lots"}) == worker.EXIT_FAILED


def test_sigterm_ends_the_run_with_its_log_line(
    resources: Pipeline, settings: dict[str, str], worker_logs: LogLines, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stopped_by_ecs(upload: UploadEvent, local: Path, header: Any, dependencies: Dependencies) -> dict[str, Any]:
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM should have interrupted the render")

    monkeypatch.setattr(worker, "render_upload", stopped_by_ecs)
    before = signal.getsignal(signal.SIGTERM)
    event = upload(resources, f"{UPLOAD_PREFIX}a.jpg", jpeg())

    code = worker.main([], {**settings, **references(event)})

    assert code == worker.EXIT_FAILED
    line = last_line(worker_logs())
    assert line["error"] == "Terminated"
    assert "SIGTERM" in line["reason"]
    assert signal.getsignal(signal.SIGTERM) == before, "the previous SIGTERM handler must be restored"


def test_arguments_are_refused(fake_credentials: None, worker_logs: LogLines) -> None:
    assert worker.main(["--bucket", "x"], {}) == worker.EXIT_FAILED
    assert "takes no arguments" in last_line(worker_logs())["reason"]


def test_as_a_process_it_prints_one_json_line_and_exits_non_zero(tmp_path: Path) -> None:
    """`python -m worker.main` as the image's ENTRYPOINT runs it: the exit code and stdout are the interface."""
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(HANDLERS), "TMPDIR": str(tmp_path)}
    environ["POWERTOOLS_SERVICE_NAME"] = "image-worker"

    completed = subprocess.run(
        [sys.executable, "-m", "worker.main"], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=60
    )

    assert completed.returncode == worker.EXIT_FAILED, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 1, completed.stdout
    line = json.loads(lines[0])
    assert line["service"] == "image-worker"
    assert line["error"] == "WorkerError"
    assert "$UPLOAD_BUCKET and $UPLOAD_OBJECT must be set" in line["reason"]
    assert completed.stderr == ""


# --- the Dockerfile, read statically ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    stage: int

    @property
    def flags(self) -> dict[str, str]:
        return dict(word[2:].split("=", 1) for word in shlex.split(self.arguments) if word.startswith("--"))

    @property
    def words(self) -> list[str]:
        return [word for word in shlex.split(self.arguments) if not word.startswith("--")]


def dockerfile() -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped, numbered by build stage."""
    text = (WORKER_DIR / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    instructions, stage = [], -1
    for line in filter(None, (line.strip() for line in logical.splitlines())):
        keyword, _, arguments = line.partition(" ")
        stage += keyword.upper() == "FROM"
        instructions.append(Instruction(keyword.upper(), arguments.strip(), stage))
    return instructions


def final_stage() -> list[Instruction]:
    instructions = dockerfile()
    last = instructions[-1].stage
    return [instruction for instruction in instructions if instruction.stage == last]


def env_values(instructions: list[Instruction]) -> dict[str, str]:
    values: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "ENV":
            values |= dict(word.split("=", 1) for word in shlex.split(instruction.arguments))
    return values


def test_every_stage_is_arm64_on_a_pinned_slim_python_313() -> None:
    stages = [instruction for instruction in dockerfile() if instruction.keyword == "FROM"]
    assert stages
    for stage in stages:
        assert stage.flags.get("platform") == "linux/arm64", stage
        image = stage.words[0]
        assert re.fullmatch(r"python:3\.13\.\d+-slim-[a-z]+", image), f"{image}: pin a patch release of the slim tag"


def test_the_entrypoint_runs_as_a_numeric_non_root_user() -> None:
    stage = final_stage()
    keywords = [instruction.keyword for instruction in stage]
    users = [instruction for instruction in stage if instruction.keyword == "USER"]
    assert users, "the final stage must switch to a non-root user"
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    uid, _, gid = users[-1].arguments.partition(":")
    assert uid.isdigit(), "a numeric uid lets the runtime verify that the user is not root"
    assert int(uid) != 0
    assert not gid or int(gid) != 0
    entrypoint = next(instruction for instruction in stage if instruction.keyword == "ENTRYPOINT")
    assert json.loads(entrypoint.arguments) == ["python", "-m", "worker.main"]


def test_the_runtime_needs_no_writes_outside_tmp() -> None:
    instructions = dockerfile()
    assert any(
        instruction.keyword == "RUN" and "compileall" in instruction.arguments for instruction in instructions
    ), "bytecode must be compiled at build time: the root filesystem is read-only at run time"
    env = env_values(final_stage())
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env.get("TMPDIR") == "/tmp"
    assert not any(instruction.keyword == "HEALTHCHECK" for instruction in instructions)


def test_nothing_remote_and_no_secrets() -> None:
    instructions = dockerfile()
    assert not [i for i in instructions if i.keyword == "ADD" and re.search(r"(https?|git)://|git@", i.arguments)]
    secret = re.compile(r"SECRET|PASSWORD|TOKEN|CREDENTIAL|ACCESS_KEY|PRIVATE|API_KEY", re.IGNORECASE)
    for instruction in instructions:
        if instruction.keyword in ("ENV", "ARG"):
            names = [word.split("=", 1)[0] for word in shlex.split(instruction.arguments)]
            assert not [name for name in names if secret.search(name)], instruction


def _copied_sources() -> list[str]:
    return [
        source
        for instruction in dockerfile()
        if instruction.keyword == "COPY" and "from" not in instruction.flags
        for source in instruction.words[:-1]
    ]


def test_copy_sources_exist_in_the_build_context() -> None:
    sources = _copied_sources()
    assert {"imaging/", "pipeline/", "worker/"} <= set(sources)
    for source in sources:
        assert (HANDLERS / source).exists(), f"COPY {source}: not in the build context handlers/"


def _ignore_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex over context-relative paths (Go's filepath.Match plus `**`)."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/"))
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def build_context() -> set[str]:
    """The files of handlers/ that `docker build` sends with this Dockerfile's ignore file, last match winning,
    a pattern matching a file when it matches the file or one of its parent directories (as Docker does)."""
    rules = []
    for line in (WORKER_DIR / "Dockerfile.dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), _ignore_pattern(line.removeprefix("!"))))
    sent = set()
    for path in HANDLERS.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(HANDLERS).as_posix()
        prefixes = ["/".join(relative.split("/")[: depth + 1]) for depth in range(relative.count("/") + 1)]
        included = True
        for negated, pattern in rules:
            if any(pattern.fullmatch(prefix) for prefix in prefixes):
                included = negated
        if included:
            sent.add(relative)
    return sent


def test_the_build_context_holds_the_code_and_nothing_else() -> None:
    context = build_context()
    for source in _copied_sources():
        wanted = {path.relative_to(HANDLERS).as_posix() for path in (HANDLERS / source).rglob("*.py")}
        wanted |= {source} if (HANDLERS / source).is_file() else set()
        assert wanted <= context, f"COPY {source}: {sorted(wanted - context)} excluded by Dockerfile.dockerignore"
    leaked = [path for path in context if "__pycache__" in path or path.endswith(".pyc") or "/." in f"/{path}"]
    assert not leaked
    assert "worker/Dockerfile" not in context


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, separator, version = line.partition("==")
            assert separator, f"{path}: {line!r} is not pinned (installed with --no-deps, the file is a lock)"
            assert version, f"{path}: {line!r} has no version"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_worker_requirements_pin_what_the_lambda_runtime_would_provide() -> None:
    requirements = WORKER_DIR / "requirements.txt"
    assert "-r ../requirements.txt" in requirements.read_text().splitlines()
    worker_pins, shared_pins = _pins(requirements), _pins(HANDLERS / "requirements.txt")
    assert worker_pins["boto3"] == "1.44.5"
    assert not set(worker_pins) & set(shared_pins), "pin each package in one file only"
    pins = worker_pins | shared_pins
    missing, seen, todo = [], set(), ["boto3"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for requirement in metadata.requires(name) or []:
            if "extra ==" in requirement:
                continue
            dependency = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group()).lower()
            if dependency not in pins:
                missing.append(f"{dependency} (needed by {name})")
            todo.append(dependency)
    assert not missing, f"unpinned dependencies of boto3: {missing}"
