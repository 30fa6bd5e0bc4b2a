#!/usr/bin/env python3
"""Security: guessing secrets at the authorization server is throttled per source address and
per identity, refused before any argon2id work (429 + Retry-After), and the hash checks run on a
bounded worker pool that answers 503 + Retry-After when full (docs/authorization-server.md,
"Secret checks").

The attack: every endpoint that checks a secret (/owner/grants, /introspect, /trl, /revoke and
/token's client authentication) ran a ~24 ms argon2id check per guess on one of the two I/O
threads with no limit, so a guesser could try secrets forever and two guessing connections
stalled every other client's /token. Against the real acemq-as over HTTPS:

  a  from one host, wrong secrets on each endpoint are soon answered 429 with a Retry-After, and
     every later guess from that host too;
  b  guesses for the owner from many hosts exhaust the owner's own bucket (429 from a host never
     seen before), yet the owner, from the host where it authenticated, is still served;
  c  with one worker and a queue of one, a burst of concurrent secret checks is partly refused
     with 503 + Retry-After instead of queueing without bound.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import as_abuse_harness as harness  # noqa: E402
from as_abuse_harness import (AUDIENCE, CLIENT, CLIENT_SECRET, OWNER, OWNER_SECRET,  # noqa: E402
                              basic, source)

# More guesses than any default burst (10 per host, 20 per identity).
MAX_GUESSES = 40


def guess_until_refused(server, send, address):
    """Sends wrong guesses with `send(connection)` on one keep-alive connection from `address`
    until one is answered 429; returns (guesses sent, the 429 response or the last one)."""
    connection = server.connection(address)
    try:
        response = None
        for attempt in range(1, MAX_GUESSES + 1):
            response = send(connection)
            if response.status == 429:
                return attempt, response
            if response.status != 401:
                return attempt, response
        return MAX_GUESSES, response
    finally:
        connection.close()


class SecretGuessing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.started()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assert_refused_cheaply(self, name, guesses, response):
        self.assertEqual(response.status, 429, "%s: %d wrong guesses, still answered %r\n%s" %
                         (name, guesses, response, self.server.log()[-2000:]))
        retry_after = response.header("retry-after")
        self.assertIsNotNone(retry_after, "%s: 429 without Retry-After" % name)
        self.assertGreaterEqual(int(retry_after), 1)
        # An OAuth error object (RFC 6749 5.2 shape), whatever the endpoint.
        self.assertEqual(response.json()["error"], "invalid_request", response)

    def test_a_each_endpoint_throttles_guesses_from_one_host(self):
        s = self.server
        # The client authenticates from its own host first.
        self.assertEqual(s.token().status, 200)
        json_type = {"Content-Type": "application/ace+json"}
        endpoints = {
            "owner": lambda c: s.owner_grants(OWNER, "wrong", connection=c),
            "introspect": lambda c: s.introspect(AUDIENCE, "wrong", connection=c),
            "trl": lambda c: s.request("GET", "/trl", None,
                                       {"Authorization": basic(AUDIENCE, "wrong")}, connection=c),
            "revoke": lambda c: s.request("POST", "/revoke", json.dumps({"token": "x"}),
                                          dict(json_type, Authorization=basic(CLIENT, "wrong")),
                                          connection=c),
            "token": lambda c: s.token(CLIENT, "wrong", connection=c),
            "token (client_secret_post)": lambda c: s.request(
                "POST", "/token", json.dumps({"grant_type": "client_credentials",
                                              "audience": AUDIENCE, "client_id": CLIENT,
                                              "client_secret": "wrong"}), json_type,
                connection=c),
        }
        for number, (name, send) in enumerate(endpoints.items(), start=10):
            address = source(number)
            guesses, response = guess_until_refused(s, send, address)
            self.assert_refused_cheaply(name, guesses, response)
            # Once refused, the host stays refused: more guesses cost no hashing.
            again = send(s.connection(address))
            self.assertEqual(again.status, 429, "%s: %r" % (name, again))
        # The client's right secret from its own (legitimate) host still gets a token.
        granted = s.token()
        self.assertEqual(granted.status, 200, granted)

    def test_b_stranger_cannot_lock_the_owner_out(self):
        s = self.server
        # The owner authenticates from its own host first.
        self.assertEqual(s.owner_grants().status, 200)
        # Guesses for the owner from eight other hosts, each until its host is refused.
        for number in range(2, 10):
            guesses, response = guess_until_refused(
                s, lambda c: s.owner_grants(OWNER, "guess", connection=c), source(number))
            self.assert_refused_cheaply("owner from 127.0.0.%d" % number, guesses, response)
        # The owner's bucket is empty now: a host that never guessed is refused for this owner...
        fresh = s.owner_grants(OWNER, "guess", source_address=source(19))
        self.assertEqual(fresh.status, 429, fresh)
        # ...but the owner's own host is spared: the owner is served.
        served = s.owner_grants()
        self.assertEqual(served.status, 200, "the owner was locked out: %r" % served)


class BoundedWorkerQueue(unittest.TestCase):
    """One worker, one queued request: concurrent secret checks beyond that are refused 503."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.started({"https.workers": 1, "https.max_queued": 1})

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_c_full_queue_answers_503_with_retry_after(self):
        s = self.server
        connections = [s.connection(source(2 + n % 8)) for n in range(16)]
        try:
            # Every request is sent before any answer is read: 16 checks wait at once.
            for n, connection in enumerate(connections):
                connection.request("GET", "/owner/grants",
                                   headers={"Authorization": basic("owner-%d" % n, "guess")})
            statuses = []
            for connection in connections:
                reply = connection.getresponse()
                body = reply.read()
                statuses.append(reply.status)
                self.assertIn(reply.status, (401, 429, 503), body)
                if reply.status == 503:
                    self.assertGreaterEqual(int(reply.getheader("Retry-After")), 1)
        finally:
            for connection in connections:
                connection.close()
        self.assertIn(503, statuses, "16 concurrent secret checks, one worker and a queue of one, "
                      "yet none refused: %s" % statuses)
        # The server still serves afterwards.
        self.assertEqual(s.token().status, 200)


if __name__ == "__main__":
    unittest.main()
