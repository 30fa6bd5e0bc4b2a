#!/usr/bin/env python3
"""Security: a per-address limit counts an IPv6 peer by its /64, not once per address in it.

One host or subscriber is commonly given a whole IPv6 /64 and may pick any of its 2^64 addresses
as the source of each connection. A limit "per address" that keys an IPv6 peer by its full
address gives such an attacker the share once per address: no limit at all. Required
(docs/operations.md, "Limits and what happens at each bound": per address means per IPv4 address
and per IPv6 /64), against the real binaries over IPv6 sockets, with an attacker who connects
from 2001:db8:1:2::a1, ::a2, ... (one /64):

  a  the broker's listener.tcp.address_connection_rate (burst 2, next token in ~17 minutes):
     the first two connections from the /64 get their CONNACK, every later one from the same
     /64 is closed at accept; a client in the neighbouring /64 2001:db8:1:3::/64 still connects.
  b  the broker's password throttle per address (the default burst of 5 failures): one wrong
     password from each of six addresses of the /64: the sixth is refused 0x9F before any
     hashing; alice, from the neighbouring /64, still connects with her password.
  c  the AS's secret-guessing limit per address (the default burst of 10 failures): one wrong
     owner secret at /owner/grants from each of eleven addresses of the /64: the eleventh is
     answered 429 with a Retry-After; the owner from the neighbouring /64 is still served.

Two /64s on one machine need addresses of their own: the test runs in a private network
namespace (unshare --net) where it gives the loopback interface the addresses it needs; the
host's own network is not touched. Where no namespace can be made (no privilege), the test says
so and is skipped. Every wait is on a packet, a response or the end of a stream.
"""

import os
import subprocess
import sys
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import as_abuse_harness as as_harness  # noqa: E402
import security_harness as raw  # noqa: E402
from abuse_harness import (BAD_USER_NAME_OR_PASSWORD, CONNECTION_RATE_EXCEEDED,  # noqa: E402
                           SourcedRawClient, password_connect)
from as_abuse_harness import OWNER, OWNER_SECRET  # noqa: E402
from security_harness import V5, Broker, Workspace  # noqa: E402
from namespaces import run_inside  # noqa: E402  (tests/e2e, on the path through security_harness)

IN_NAMESPACE = "ACEMQ_IPV6_PREFIX_TEST_NAMESPACE"
ATTACKER_PREFIX = "2001:db8:1:2::"
ATTACKER = ["%sa%d" % (ATTACKER_PREFIX, n) for n in range(1, 13)]  # one /64, twelve addresses
NEIGHBOUR = "2001:db8:1:3::b1"  # the next /64: someone else
ALICE_PASSWORD = "alice-" + uuid.uuid4().hex
PASSWORD_BURST = 5  # the broker's default auth.password.address_burst
AS_ADDRESS_BURST = 10  # the AS's default authentication.failures_per_address_burst


def give_loopback_the_addresses():
    """Inside the network namespace: the loopback up, with the test's IPv6 addresses."""
    commands = [["ip", "link", "set", "lo", "up"]]
    commands += [["ip", "-6", "addr", "add", address + "/128", "dev", "lo", "nodad"]
                 for address in ATTACKER + [NEIGHBOUR]]
    for command in commands:
        subprocess.run(command, check=True)


def anonymous_connect(broker, source):
    """An anonymous MQTT 5 CONNECT from `source`: the CONNACK reason, or None when the broker
    closed the connection without one (refused at accept)."""
    try:
        client = SourcedRawClient(broker, version=V5, source=source)
    except OSError:
        return None
    try:
        connack = client.connect("c-" + uuid.uuid4().hex[:12])
        if connack.reason == 0:
            client.disconnect()
        return connack.reason
    except (raw.Closed, OSError):
        return None
    finally:
        client.close()


def code_name(code):
    return "closed without CONNACK" if code is None else "0x%02x" % code


class Ipv6PrefixLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workspace = Workspace(users={"alice": ALICE_PASSWORD})

    @classmethod
    def tearDownClass(cls):
        cls.workspace.close()

    def broker(self, *overrides):
        data_dir = self.workspace.fresh()
        broker = Broker("listener.tcp.address=::1", "listener.tls.address=::1",
                        "auth.password_file=%s" % os.path.join(data_dir, "passwd"),
                        *overrides, data_dir=data_dir)
        self.addCleanup(broker.close)
        return broker

    def test_a_listener_connection_rate_per_slash64(self):
        broker = self.broker("listener.tcp.address_connection_rate=0.001",
                             "listener.tcp.address_connection_burst=2")
        answers = [anonymous_connect(broker, address) for address in ATTACKER[:6]]
        self.assertEqual(answers[:2], [0, 0], "control: the first two connections of the /64 "
                         "were refused: %s\n%s" % ([code_name(a) for a in answers],
                                                   broker.log()[-2000:]))
        self.assertEqual(answers[2:], [None] * 4,
                         "with address_connection_burst 2, connections from %s .. %s (one /64, one "
                         "address each) got %s: the listener counted every IPv6 address apart, so "
                         "a /64 gets the burst 2^64 times"
                         % (ATTACKER[0], ATTACKER[5], [code_name(a) for a in answers]))
        self.assertEqual(anonymous_connect(broker, NEIGHBOUR), 0,
                         "a client of the neighbouring /64 (%s) was refused" % NEIGHBOUR)

    def test_b_password_guessing_per_slash64(self):
        broker = self.broker("auth.allow_anonymous=false")
        answers = [password_connect(broker, "bot-" + uuid.uuid4().hex[:12], "alice",
                                    "guess-%d" % n, V5, address)
                   for n, address in enumerate(ATTACKER[:PASSWORD_BURST + 1])]
        self.assertEqual(answers[:PASSWORD_BURST], [BAD_USER_NAME_OR_PASSWORD] * PASSWORD_BURST,
                         "control: the first guesses were not checked: %s"
                         % [code_name(a) for a in answers])
        self.assertEqual(answers[PASSWORD_BURST], CONNECTION_RATE_EXCEEDED,
                         "after %d wrong passwords from %d addresses of one /64 (%s ..), the next "
                         "guess from the same /64 got %s instead of 0x9F Connection rate exceeded: "
                         "the password throttle counts every IPv6 address apart, so a /64 guesses "
                         "without an address limit"
                         % (PASSWORD_BURST, PASSWORD_BURST, ATTACKER[0],
                            code_name(answers[PASSWORD_BURST])))
        code = password_connect(broker, "alice-device", "alice", ALICE_PASSWORD, V5, NEIGHBOUR)
        self.assertEqual(code, 0, "alice, from the neighbouring /64 (%s), got %s\n%s"
                         % (NEIGHBOUR, code_name(code), broker.log()[-2000:]))

    def test_c_as_secret_guessing_per_slash64(self):
        # The default burst, with its refill slowed from one per 10 s: ten argon2 checks on a
        # loaded machine (sanitizers, two cores) may take longer than that, and a refilled
        # token would let the eleventh guess through whatever the keying.
        server = as_harness.started({"https.address": "::1",
                                     "authentication.failures_per_address_per_second": 0.001})
        self.addCleanup(server.stop)
        statuses = [server.owner_grants(OWNER, "wrong-%d" % n, source_address=address).status
                    for n, address in enumerate(ATTACKER[:AS_ADDRESS_BURST])]
        self.assertEqual(statuses[:AS_ADDRESS_BURST], [401] * AS_ADDRESS_BURST,
                         "control: the first guesses were not checked: %s\n%s"
                         % (statuses, server.log()[-2000:]))
        refused = server.owner_grants(OWNER, "wrong", source_address=ATTACKER[AS_ADDRESS_BURST])
        self.assertEqual(refused.status, 429,
                         "after %d wrong owner secrets from %d addresses of one /64 (%s ..), the "
                         "next guess from the same /64 was answered %d, not 429: the AS counts "
                         "every IPv6 address apart, so a /64 guesses without an address limit"
                         % (AS_ADDRESS_BURST, AS_ADDRESS_BURST, ATTACKER[0],
                            refused.status))
        self.assertGreaterEqual(int(refused.header("retry-after")), 1)
        self.assertEqual(server.owner_grants(OWNER, OWNER_SECRET, source_address=NEIGHBOUR).status,
                         200, "the owner, from the neighbouring /64 (%s), was not served" % NEIGHBOUR)


if __name__ == "__main__":
    run_inside("--net", IN_NAMESPACE, give_loopback_the_addresses, programs=("ip",))
    unittest.main(verbosity=2)
