#!/usr/bin/env python3
"""Security: idle sockets cannot take the authorization server's connection slots from everyone
else (docs/authorization-server.md, "Limits and what happens at each bound").

The attack: 1,024 TCP connections that never send a TLS byte held every slot of https
.max_connections until the idle timeout (30 s), and each connection closed was opened again, so
no other client could reach /token. Against the real acemq-as with its default settings:

  a  1,280 idle connections from 127.0.0.2 .. 127.0.0.9 (160 each): a client on 127.0.0.1 still
     gets its /token answered while all of them are open (each host holds at most
     https.max_connections_per_address slots; the others are closed at once);
  b  a connection that sends nothing is closed at https.handshake_timeout, long before the idle
     timeout between requests.
"""

import os
import resource
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import as_abuse_harness as harness  # noqa: E402
from as_abuse_harness import source  # noqa: E402

FLOOD_HOSTS = range(2, 10)
PER_HOST = 160


def setUpModule():
    # The flood holds more sockets than a default soft limit of 1,024 descriptors allows; the AS
    # inherits the raised limit, so its own refusals, not a lack of descriptors, are tested.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = len(FLOOD_HOSTS) * PER_HOST + 256
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise unittest.SkipTest("the flood needs %d descriptors, the hard limit is %d"
                                    % (wanted, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class ConnectionFlood(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.started()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_a_idle_flood_leaves_token_reachable(self):
        flood = []
        try:
            for number in FLOOD_HOSTS:
                for _ in range(PER_HOST):
                    flood.append(socket.create_connection(
                        ("127.0.0.1", self.server.port), timeout=harness.TIMEOUT,
                        source_address=(source(number), 0)))
            # Every flood connection is established (in the AS's backlog or accepted) before the
            # legitimate client connects; none has sent a byte, all stay open during the request.
            try:
                answer = self.server.token()
            except (OSError, Exception) as error:  # reset, closed in the handshake, timeout
                self.fail("%d idle connections from %d hosts kept the legitimate client out: %r"
                          % (len(flood), len(FLOOD_HOSTS), error))
            self.assertEqual(answer.status, 200, answer)
        finally:
            for connection in flood:
                connection.close()


class HandshakeTimeout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.started({"https.handshake_timeout": 2, "https.idle_timeout": 120})

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_b_silent_connection_is_closed_at_the_handshake_timeout(self):
        connection = socket.create_connection(("127.0.0.1", self.server.port), timeout=30,
                                              source_address=(source(2), 0))
        started = time.monotonic()
        try:
            try:
                data = connection.recv(1)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                self.fail("a connection that sent nothing was still open after 30 s "
                          "(https.handshake_timeout = 2, idle_timeout = 120)")
            self.assertEqual(data, b"")
        finally:
            connection.close()
        # Closed by the handshake deadline, not by the idle timeout of 120 s.
        self.assertLess(time.monotonic() - started, 30)


if __name__ == "__main__":
    unittest.main()
