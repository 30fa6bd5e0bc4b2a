#!/usr/bin/env python3
"""Security: GET /metrics is not served to strangers.

The metrics listener (type "http") tells whoever asks how many clients are connected, which
providers refuse whom, how busy the broker is. It is plain HTTP (no TLS, so no client
certificates: docs/operations.md says so), and:

* it binds 127.0.0.1 when no address is given;
* with metrics.bearer_token_file set, every request must carry "Authorization: Bearer <token>"
  (RFC 6750 2.1); without it, or with another token or scheme, the answer is 401 with
  WWW-Authenticate: Bearer (RFC 6750 3), and no metric;
* a metrics listener that other machines can reach (an address other than loopback) without a
  bearer token is a configuration error: the broker does not start.

Before this, any client that reached the port read every metric, on any address.
"""

import http.client
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import security_harness as security  # noqa: E402

TOKEN = "metrics-scraper-7d1f0c9a4b2e"


def metrics_listener(broker):
    """(address, port) of the broker's listener named "metrics", from its listening line."""
    line = broker.wait_for_output(r"^acemq-broker: listening metrics \(http\) on ")
    address, port = line.rsplit(" ", 1)[1].rsplit(":", 1)
    return address, int(port)


def get(port, path="/metrics", headers=None, method="GET"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=security.TIMEOUT)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


class MetricsExposure(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="acemq-metrics-")
        self.token_file = os.path.join(self.directory, "metrics-token")
        with open(self.token_file, "w") as out:
            out.write(TOKEN + "\n")
        os.chmod(self.token_file, 0o600)

    def test_the_metrics_listener_binds_loopback_unless_told_otherwise(self):
        with security.Broker("listener.metrics.type=http", "listener.metrics.port=0") as broker:
            address, _ = metrics_listener(broker)
            self.assertEqual(address, "127.0.0.1", broker.log())

    def test_a_bearer_token_is_required_when_configured(self):
        with security.Broker("listener.metrics.type=http", "listener.metrics.port=0",
                             "metrics.bearer_token_file=" + self.token_file) as broker:
            _, port = metrics_listener(broker)
            attempts = {
                "no Authorization": {},
                "another token": {"Authorization": "Bearer " + TOKEN[:-1] + "X"},
                "a prefix of the token": {"Authorization": "Bearer " + TOKEN[:-4]},
                "the token and more": {"Authorization": "Bearer " + TOKEN + "0"},
                "another scheme": {"Authorization": "Basic " + TOKEN},
                "an empty token": {"Authorization": "Bearer "},
            }
            for name, headers in attempts.items():
                status, response_headers, body = get(port, headers=headers)
                self.assertEqual(status, 401, "%s: %s %s" % (name, status, body))
                self.assertNotIn("acemq_", body, name)
                self.assertTrue(response_headers.get("WWW-Authenticate", "").startswith("Bearer"),
                                "%s: %s" % (name, response_headers))
            # Another path or method is not a way around it either.
            self.assertEqual(get(port, path="/")[0], 401)
            self.assertEqual(get(port, method="HEAD")[0], 401)
            status, _, body = get(port, headers={"Authorization": "Bearer " + TOKEN})
            self.assertEqual(status, 200, body)
            self.assertIn("acemq_uptime_seconds", body)
            self.assertNotIn(TOKEN, broker.log())

    def test_a_reachable_metrics_listener_needs_a_bearer_token(self):
        overrides = ("listener.metrics.type=http", "listener.metrics.port=0",
                     "listener.metrics.address=0.0.0.0")
        try:
            broker = security.Broker(*overrides)
        except RuntimeError as refused:
            self.assertIn("metrics.bearer_token_file", str(refused))
            return
        with broker:
            _, port = metrics_listener(broker)
            status, _, body = get(port)
            self.fail("the broker served /metrics on 0.0.0.0 without credentials (%d, %d bytes)"
                      % (status, len(body)))

    def test_a_missing_or_empty_token_file_is_a_configuration_error(self):
        empty = os.path.join(self.directory, "empty")
        open(empty, "w").close()
        for path in (os.path.join(self.directory, "absent"), empty):
            with self.assertRaises(RuntimeError) as refused:
                security.Broker("listener.metrics.type=http", "listener.metrics.port=0",
                                "metrics.bearer_token_file=" + path).close()
            message = str(refused.exception)
            self.assertTrue(re.search(r"metrics\.bearer_token_file: .*(cannot be read|must hold)",
                                      message), message)


if __name__ == "__main__":
    unittest.main()
