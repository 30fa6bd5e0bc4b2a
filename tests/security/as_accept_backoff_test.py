#!/usr/bin/env python3
"""Security: an attacker who fills the authorization server's descriptor table does not make it
burn a core (docs/authorization-server.md, "Abuse resistance").

The attack: with every descriptor of the AS taken, accept() fails (EMFILE) while connections wait
in the listen backlog, so the socket stays readable; an accept loop that retries at once spins on
the failure for as long as the attacker keeps its sockets open. Against the real acemq-as, run
with a soft RLIMIT_NOFILE of 64:

  idle connections from 127.0.0.2 .. 127.0.0.6 (30 each, under https.max_connections_per_address)
  until the AS holds all 64 descriptors and more connections wait in its backlog; while they stay
  open, the AS uses well under a fifth of a core (it backs off, 10 ms doubling to 1 s) and says
  so once, not once per failed accept; once the attacker's sockets close, a legitimate client
  gets its /token.

The CPU share is a property (no busy loop), not a speed: a spinning loop takes a whole core.
"""

import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import as_abuse_harness as harness  # noqa: E402
from as_abuse_harness import source  # noqa: E402

DESCRIPTOR_LIMIT = 64
FLOOD_HOSTS = range(2, 7)
PER_HOST = 30  # below the default https.max_connections_per_address (32): none is refused
MEASURED_SECONDS = 2.0
MOST_CPU_SHARE = 0.2
BACKING_OFF = r"accepting connections failed .*; backing off"


def descriptors(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_seconds(pid):
    """User plus system CPU time of process `pid` (all its threads) so far."""
    with open("/proc/%d/stat" % pid) as handle:
        # The command name (field 2) is in parentheses and may hold spaces: split after it.
        fields = handle.read().rsplit(")", 1)[1].split()
    user, system = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (user + system) / os.sysconf("SC_CLK_TCK")


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting until " + what)
        time.sleep(0.05)


class DescriptorExhaustion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The attacker's connections never send a byte; they must keep their descriptors for the
        # whole test, not lose them to the handshake deadline.
        cls.server = harness.started({"https.handshake_timeout": 120, "https.idle_timeout": 120},
                                     descriptor_limit=DESCRIPTOR_LIMIT)
        cls.pid = cls.server.process.process.pid

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_exhausted_descriptors_do_not_make_the_accept_loop_spin(self):
        # Before the attack, the two paths the AS takes when it ends: a client that leaves before
        # its TLS handshake, and a /token. (With UBSan, the first check of a C++ object's dynamic
        # type probes memory through a pipe, which EMFILE makes fail and report as an invalid
        # object; a path first taken while the table is full would abort the sanitized AS.)
        socket.create_connection(("127.0.0.1", self.server.port), timeout=harness.TIMEOUT,
                                 source_address=(source(2), 0)).close()
        answer = self.server.token()
        self.assertEqual(answer.status, 200, answer)
        flood = []
        try:
            for number in FLOOD_HOSTS:
                for _ in range(PER_HOST):
                    flood.append(socket.create_connection(
                        ("127.0.0.1", self.server.port), timeout=harness.TIMEOUT,
                        source_address=(source(number), 0)))
            # Every descriptor of the AS is taken; the rest of the flood waits in the backlog,
            # so each accept() fails with EMFILE.
            wait_until(lambda: descriptors(self.pid) >= DESCRIPTOR_LIMIT, harness.TIMEOUT,
                       "the AS holds all %d descriptors" % DESCRIPTOR_LIMIT)
            started, used_before = time.monotonic(), cpu_seconds(self.pid)
            time.sleep(MEASURED_SECONDS)  # the measurement window, not a wait for an event
            share = (cpu_seconds(self.pid) - used_before) / (time.monotonic() - started)
            print("AS CPU while its %d descriptors were exhausted: %.1f%% of a core"
                  % (DESCRIPTOR_LIMIT, share * 100), file=sys.stderr)
            self.assertGreaterEqual(descriptors(self.pid), DESCRIPTOR_LIMIT,
                                    "the descriptors did not stay exhausted while measured")
            self.assertLess(share, MOST_CPU_SHARE,
                            "with its descriptors exhausted by %d idle connections the AS used "
                            "%.0f%% of a core: its accept loop spins on EMFILE"
                            % (len(flood), share * 100))
        finally:
            for connection in flood:
                connection.close()
        # Once the attacker's sockets close, accepting works again.
        answer = self.server.token()
        self.assertEqual(answer.status, 200, answer)
        episodes = re.findall(BACKING_OFF, self.server.log())
        self.assertEqual(len(episodes), 1,
                         "one exhaustion episode is logged once, not per failed accept:\n"
                         + self.server.log()[-2000:])


if __name__ == "__main__":
    unittest.main()
