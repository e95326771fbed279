"""Saving never destroys the previous good file (issue 14): ``Interactions.save`` writes a
temporary file, flushes it and renames it over the old one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from captum_spex.interactions import Interactions

# The child saves a new explanation over the old file with every file opened for writing
# wrapped: at the kill point ("write": the first write, after the file was opened; "close":
# once everything was written, before it is closed) it says so and sleeps until killed.
_CHILD = """
import builtins, io, sys, time
import numpy as np
from captum_spex.interactions import Interactions

KILL_AT = sys.argv[2]
_open = builtins.open


class Stalling:
    def __init__(self, fh):
        self._fh = fh
        self._wrote = False

    def _stall(self):
        print("STALLED", flush=True)
        time.sleep(600)

    def write(self, data):
        if KILL_AT == "write" and not self._wrote:
            self._stall()
        self._wrote = True
        return self._fh.write(data)

    def close(self):
        if KILL_AT == "close" and self._wrote:
            self._fh.flush()
            self._stall()
        return self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getattr__(self, name):
        return getattr(self._fh, name)


def stalling_open(file, mode="r", *args, **kwargs):
    fh = _open(file, mode, *args, **kwargs)
    return Stalling(fh) if any(c in mode for c in "wxa") else fh


builtins.open = io.open = stalling_open
new = Interactions(5, [(), (1,), (0, 3, 4)], [9.0, 8.0, 7.0], diagnostics={"new": True})
new.save(sys.argv[1])
print("SAVED", flush=True)
"""


def _old() -> Interactions:
    return Interactions(
        4, [(), (0,), (1, 2)], np.array([1.0, -0.5, 0.25]), diagnostics={"old": [1, 2]}
    )


@pytest.mark.parametrize("kill_at", ["write", "close"])
@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_kill_during_save_leaves_the_old_file_intact(tmp_path, suffix, kill_at):
    path = tmp_path / f"expl{suffix}"
    _old().save(path)
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(path), kill_at],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline().strip()
        assert line == "STALLED", (line, child.stderr.read() if child.poll() is not None else "")
        os.kill(child.pid, signal.SIGKILL)  # kill -9 in the middle of the save
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before  # not 0 bytes, not a broken zip
    assert Interactions.load(path) == _old()
    # only a hidden temporary file may be left beside it, never under the real name
    assert all(p.name.startswith(".") for p in tmp_path.iterdir() if p != path)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_a_failed_save_keeps_the_old_file_and_leaves_nothing(tmp_path, suffix, monkeypatch):
    import captum_spex._interactions_io as io_mod

    path = tmp_path / f"expl{suffix}"
    _old().save(path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io_mod.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        Interactions(2, [(0,)], [1.0]).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # the temporary file is gone


def test_save_replaces_and_keeps_permissions(tmp_path):
    path = tmp_path / "expl.json"
    _old().save(path)
    os.chmod(path, 0o640)
    new = Interactions(2, [(0,)], [1.0])
    new.save(path)
    assert Interactions.load(path) == new
    assert (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["expl.json"]


def test_save_over_a_folder_fails_cleanly(tmp_path):
    (tmp_path / "expl.json").mkdir()
    with pytest.raises(OSError):
        _old().save(tmp_path / "expl.json")
    assert [p.name for p in tmp_path.iterdir()] == ["expl.json"]
