"""The first run on a machine says why it pauses: the kernels are compiling."""

import io

from captum_spex.engine import _compile


def test_notice_when_the_disk_cache_is_empty(monkeypatch):
    monkeypatch.setattr(_compile, "_announced", False)
    monkeypatch.setattr(_compile.os.path, "exists", lambda path: False)
    out = io.StringIO()
    assert _compile.announce_cold_kernels(out) is False  # nobody asked for it: silent
    assert out.getvalue() == ""
    with _compile.announcing(True):  # a run with a progress bar (or its front end's)
        assert _compile.announce_cold_kernels(out) is True
        assert "compiling" in out.getvalue() and "once per machine" in out.getvalue()
        assert _compile.announce_cold_kernels(out) is False  # once per process


def test_silent_when_the_kernels_are_cached(monkeypatch):
    from captum_spex.engine import _kernels

    _kernels.fwht.__call__  # noqa: B018 - the module is importable
    monkeypatch.setattr(_compile, "_announced", False)
    monkeypatch.setattr(_compile.os.path, "exists", lambda path: True)
    out = io.StringIO()
    assert _compile.announce_cold_kernels(out) is False and out.getvalue() == ""
