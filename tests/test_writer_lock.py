"""One writer at a time per output (service/writer_lock.py): a second writer fails at once naming the first, a killed
writer never blocks the next, and a finished one leaves no lock file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from service.writer_lock import WriterBusy, one_writer


def test_a_second_writer_is_refused_with_the_first_ones_pid(tmp_path):
    out = tmp_path / "model"
    busy = rf"model: another `insight train` \(pid {os.getpid()}\) is writing it now"
    with one_writer(out, "`insight train`"), pytest.raises(WriterBusy, match=busy), one_writer(out, "`insight train`"):
        pass
    assert list(tmp_path.iterdir()) == []  # released and removed
    with one_writer(out, "`insight train`"):  # free again
        pass


def test_a_writer_killed_with_sigkill_never_blocks_the_next(tmp_path):
    code = (
        "import os, signal, sys; from service.writer_lock import one_writer\n"
        "with one_writer(sys.argv[1], 'x'):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "model")], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (tmp_path / ".model.lock").exists()  # its lock file stays, its lock does not
    with one_writer(tmp_path / "model", "x"):
        pass
    assert list(tmp_path.iterdir()) == []
