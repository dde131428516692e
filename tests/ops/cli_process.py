"""Running the ``liapstore`` command as a process of its own (so that it can
be killed), with the liapstore under test on its path."""
import os
import subprocess
import sys
from pathlib import Path

import liapstore

ROOT = str(Path(liapstore.__file__).resolve().parent.parent)


def argv(*args):
    """The command line of ``liapstore ARGS`` run by this Python."""
    return [sys.executable, "-c", "from liapstore.cli import main; main()", *map(str, args)]


def env():
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": ROOT + (os.pathsep + path if path else "")}


def run(*args, code=0, timeout=600):
    """Run ``liapstore ARGS`` to its end; its stdout, after checking its exit code."""
    done = subprocess.run(argv(*args), env=env(), capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def start(*args):
    """Start ``liapstore ARGS``; the Popen (output discarded)."""
    return subprocess.Popen(argv(*args), env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
