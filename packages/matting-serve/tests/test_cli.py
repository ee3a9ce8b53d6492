"""``matting serve`` on the command line: registered through core's hook, one-sentence errors,
and a real server started as a user starts it."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from matting_core.cli import main
from matting_core.plugins import command_registry


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_serve_is_registered_through_the_command_hook(capsys):
    assert command_registry().provider("serve") == "serve"
    with pytest.raises(SystemExit):
        main(["--help"])
    assert re.search(r"^\s+serve\s+mat photos by hand", capsys.readouterr().out, re.MULTILINE)
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--model", "--checkpoint", "--max-upload-mb"):
        assert option in out
    assert "127.0.0.1" in out


def test_the_command_line_does_not_load_the_web_framework_before_serving():
    code = (
        "import sys; from matting_core.cli import build_parser; build_parser(); "
        "print(sorted({'fastapi', 'uvicorn', 'starlette'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "no-such-model"], "unknown model 'no-such-model'"),
        (["--model", "gca", "--checkpoint", "/nonexistent.safetensors"], "does not exist"),
        (["--checkpoint", "/nonexistent.safetensors"], "--checkpoint needs --model"),
        (["--port", "70000"], "a port is 0..65535"),
    ],
)
def test_bad_arguments_are_one_sentence_exit_2(argv, message, capsys):
    try:
        code = main(["serve", *argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    assert message in _one_line(capsys.readouterr().err)


def test_a_port_in_use_is_one_sentence_exit_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert f"cannot listen on 127.0.0.1:{port}" in line


def test_matting_serve_starts_answers_and_stops_on_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "-m", "matting_core.cli", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = ""
        deadline = time.monotonic() + 120
        while "open http" not in line:
            assert time.monotonic() < deadline and process.poll() is None, line
            line = process.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        for _ in range(100):  # the socket listens before uvicorn serves on it
            try:
                with urllib.request.urlopen(url + "models", timeout=10) as response:
                    models = json.load(response)
                break
            except OSError:
                time.sleep(0.1)
        assert models["default"] == "gca"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert b"matting serve" in response.read()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
