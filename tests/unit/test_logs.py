"""Every error path logs one JSON line, with registered secrets blanked and no library text."""

from __future__ import annotations

import asyncio
import gc
import json
import logging

import pytest

from bounce_stream import logs

SECRET = "Log-Secret-93be1"


def _configure() -> None:
    # In the test body: capsys's stderr is the one in place only once the test runs.
    logs.configure("INFO", "json")
    logs.register_secret(SECRET)


def _stderr_json(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_registered_secret_is_blanked_in_our_own_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A registered secret inside any field value of a log line comes out as ***."""
    _configure()
    logs.get_logger().warning("oops", error=f"LOGIN u {SECRET}", nested=[{"k": SECRET}])
    [line] = _stderr_json(capsys)
    assert SECRET not in json.dumps(line) and "***" in str(line["error"])


def test_library_records_become_json_without_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A stdlib logging record with exc_info becomes one JSON line: redacted text, error type."""
    _configure()
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        logging.getLogger("somelib").exception("bad thing %s", SECRET)
    [line] = _stderr_json(capsys)
    assert line["event"] == "library_error" and line["error"] == "RuntimeError"
    assert SECRET not in json.dumps(line) and "Traceback" not in json.dumps(line)


def test_asyncio_handler_logs_unretrieved_exceptions_as_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A task exception never retrieved is one JSON line with the type only, not its text."""
    _configure()

    async def main() -> None:
        logs.install_asyncio_handler()

        async def boom() -> None:
            raise ValueError(f'A1 LOGIN user "{SECRET}"')

        task = asyncio.get_running_loop().create_task(boom(), name="mailbox:x")
        await asyncio.sleep(0.01)
        del task  # dropped without retrieving: asyncio reports it when the task is collected

    asyncio.run(main())
    gc.collect()
    lines = _stderr_json(capsys)
    assert lines, "nothing was logged"
    [line] = lines
    assert line["event"] == "asyncio_error" and line["error"] == "ValueError"
    assert line["message"] == "Task exception was never retrieved"
    assert SECRET not in json.dumps(line) and "LOGIN" not in json.dumps(line)


def test_asyncio_handler_keeps_only_the_head_of_a_callback_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A failed protocol callback is logged without the reprs asyncio would print."""
    _configure()
    loop = asyncio.new_event_loop()
    try:
        logs.asyncio_exception_handler(
            loop,
            {
                "message": f"Exception in callback Proto.cb('{SECRET}')",
                "exception": KeyError(SECRET),
                "protocol": object(),
            },
        )
    finally:
        loop.close()
    [line] = _stderr_json(capsys)
    assert line["message"] == "Exception in callback Proto.cb" and line["error"] == "KeyError"
    assert SECRET not in json.dumps(line)
