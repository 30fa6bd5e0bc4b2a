"""Runs a test script again inside a Linux namespace of its own (unshare(1)), for tests that need
addresses or files the machine does not have: a loopback with extra IPv6 addresses, an /etc/hosts
that lists ::1 first."""

import os
import shutil
import subprocess
import sys


def run_inside(kind, marker, prepare, programs=()):
    """With `marker` set in the environment, calls `prepare()` (inside the namespace) and returns.
    Otherwise runs this script again under `unshare <kind>` (e.g. "--net", "--mount") with
    `marker` set and exits with its status; when no namespace can be made (unshare or one of
    `programs` missing, or the kernel refuses), prints that the test is skipped and why, and exits
    0."""
    reason = _enter(kind, marker, prepare, programs)
    if reason:
        print("%s: skipped: %s" % (os.path.basename(sys.argv[0]), reason))
        sys.exit(0)


def _enter(kind, marker, prepare, programs):
    if os.environ.get(marker) == "1":
        prepare()
        return None
    unshare = shutil.which("unshare")
    missing = [program for program in ("unshare",) + tuple(programs) if not shutil.which(program)]
    if missing:
        return "%s missing" % ", ".join(missing)
    probe = subprocess.run([unshare, kind, "true"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    if probe.returncode != 0:
        return "cannot make a namespace (unshare %s): %s" % (kind, probe.stderr.strip())
    environment = dict(os.environ, **{marker: "1"})
    sys.exit(subprocess.run([unshare, kind, sys.executable] + sys.argv, env=environment).returncode)
