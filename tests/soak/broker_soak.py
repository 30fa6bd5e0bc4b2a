#!/usr/bin/python3
"""A soak of the broker under ThreadSanitizer: a mixed load for a while, then no report.

Not part of `make test` (it runs for minutes): `make soak` builds the tsan preset and runs it
(scripts/tsan-soak, docs/operations.md "Soak under ThreadSanitizer"). The real acemq-as and
acemq-broker run as the ACE security tests run them (tests/security/ace_security_harness.py:
TLS, the AS's tokens and the test issuer's, revocation list polled every 200 ms), and these load
the broker at once, each in threads of its own:

  storm       connect (ACE challenge/response, fresh token) and leave: DISCONNECT or a TCP reset
  takeover    two threads of one principal on one client identifier, Clean Start 0 and a
              session expiry: each CONNECT takes the session over from the other (0x8E)
  pubsub      a subscriber at QoS 2 on demo/soak/#, publishers at QoS 0, 1 and 2 (full flows)
  reauth      a connected subscriber re-authenticating (AUTH 0x19) with a new token, again and
              again, while messages arrive
  revocation  `acemq sub` with a token from the AS, revoked at the AS (/revoke): the broker
              ends the session when the revocation list names it

Passes when the broker and the AS print no ThreadSanitizer report, the broker still serves a
fresh client at the end, and every kind of load completed operations. Prints what each did.

  tests/soak/broker_soak.py --seconds 300    (ACEMQ_AS, ACEMQ_BROKER, ACEMQ_CLIENT, ACEMQ_DEV_PKI
                                              name the binaries; scripts/tsan-soak sets them)
"""

import argparse
import collections
import os
import random
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "security"))

import abuse_harness  # noqa: E402
import ace_security_harness as ace  # noqa: E402
from ace_security_harness import (AUTH, CONTINUE_AUTHENTICATION, PUBLISH,  # noqa: E402
                                  challenge_answer, flows, token_only)

REAUTHENTICATE = 0x19
PUBREC, PUBREL, PUBCOMP = 5, 6, 7
SOAK_SCOPE = '[["demo/#",["pub","sub"]]]'
TSAN_REPORT = "WARNING: ThreadSanitizer"


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.done = collections.Counter()
        self.errors = collections.Counter()
        self.last_error = {}

    def ok(self, kind, n=1):
        with self.lock:
            self.done[kind] += n

    def error(self, kind, error):
        with self.lock:
            self.errors[kind] += 1
            self.last_error[kind] = repr(error)[:200]


def token_for(principal):
    token, pop = ace.principal_token(principal, SOAK_SCOPE)
    return token, pop


def connected(env, principal, client_id, clean_start=True, expiry=None):
    client = ace.MqttClient(env, version=5, transport="tls")
    token, pop = token_for(principal)
    connack = client.ace_connect(token, pop, client_id, clean_start=clean_start, expiry=expiry)
    if connack is None or connack.reason != 0:
        client.close()
        raise RuntimeError("CONNACK %r" % (connack,))
    return client


def storm(env, stop, counters):
    while not stop.is_set():
        try:
            client = connected(env, "soak-storm", "storm-%d" % random.randrange(1000))
            if random.random() < 0.5:
                client.disconnect()
            else:
                abuse_harness.abort(client)
            counters.ok("storm")
        except Exception as error:  # noqa: BLE001 - the load goes on; errors are counted
            counters.error("storm", error)


def takeover(env, stop, counters):
    while not stop.is_set():
        try:
            client = connected(env, "soak-taker", "taken", clean_start=False, expiry=60)
            client.subscribe("demo/taken/#", qos=1)
            for packet_id in range(1, 4):
                client.publish("demo/taken/x", b"t", qos=1, packet_id=packet_id)
            # Read until the other thread takes the session over (DISCONNECT 0x8E) or a while passes.
            deadline = time.monotonic() + random.uniform(0.05, 0.5)
            while time.monotonic() < deadline and read(client, 0.05) is not False:
                pass
            client.close()
            counters.ok("takeover")
        except Exception as error:  # noqa: BLE001
            counters.error("takeover", error)


def read(client, timeout):
    """The next packet, None when none came within `timeout`, False at the end of the stream."""
    try:
        packet = client.read(timeout)
    except TimeoutError:
        return None
    client.received.clear()  # the harness keeps every packet for failure messages; a soak must not
    return False if packet is None else packet


def acknowledge(client, packet, counters, kind):
    """The subscriber's side of QoS 1 and 2 deliveries, and PUBREL of the publisher's QoS 2."""
    if packet.kind == PUBLISH:
        counters.ok(kind)
        if packet.qos == 1:
            client.puback(packet.packet_id)
        elif packet.qos == 2:
            client.send(0x50, bytes(packet.packet_id.to_bytes(2, "big")))
    elif packet.kind == PUBREL:
        client.send(0x70, packet.body[:2])


def subscriber(env, stop, counters, name, reauthenticate):
    while not stop.is_set():
        try:
            client = connected(env, name, name)
            client.subscribe("demo/soak/#", qos=2)
            next_reauth = time.monotonic()
            pending_pop = None
            while not stop.is_set():
                if reauthenticate and pending_pop is None and time.monotonic() >= next_reauth:
                    token, pending_pop = token_for(name)
                    client.auth(REAUTHENTICATE, token_only(token))
                packet = read(client, 0.05)
                if packet is False:
                    break
                if packet is None:
                    continue
                if packet.kind == AUTH and packet.reason == CONTINUE_AUTHENTICATION:
                    client.auth(CONTINUE_AUTHENTICATION, challenge_answer(pending_pop, packet.properties[0x16]))
                elif packet.kind == AUTH and packet.reason == 0:
                    counters.ok("reauth")
                    pending_pop = None
                    next_reauth = time.monotonic() + 0.02
                else:
                    acknowledge(client, packet, counters, "delivered")
            client.close()
        except Exception as error:  # noqa: BLE001
            counters.error(name, error)


def publisher(env, stop, counters, index):
    while not stop.is_set():
        try:
            client = connected(env, "soak-publisher-%d" % index, "publisher-%d" % index)
            packet_id = 0
            while not stop.is_set():
                packet_id = packet_id % 65535 + 1
                qos = packet_id % 3
                client.publish("demo/soak/%d" % index, b"x" * random.randrange(1, 2048), qos=qos,
                               packet_id=packet_id)
                if qos == 1:
                    client.expect(4)
                elif qos == 2:
                    rec = client.expect(PUBREC)
                    client.send(0x62, rec.body[:2])
                    client.expect(PUBCOMP)
                client.received.clear()
                counters.ok("published")
            client.close()
        except Exception as error:  # noqa: BLE001
            counters.error("publisher", error)


def revocation(env, stop, counters):
    while not stop.is_set():
        try:
            credentials = flows.token_get("soak-revoked.json")
            sub = subprocess.Popen(flows.client("sub", *flows.broker_flags(credentials, "5", "challenge"),
                                                "-t", "demo/revoked/#", "-q", "1"),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # The subscription is in place when its first message arrives; publishing one would
            # need a token, so the revocation simply follows a short while after the start.
            time.sleep(random.uniform(0.2, 0.6))
            flows.revoke_at_as(flows.token_text(credentials))
            try:
                sub.wait(timeout=30)
                counters.ok("revocation")
            except subprocess.TimeoutExpired:
                sub.kill()
                sub.wait()
                counters.error("revocation", "the session outlived its revoked token by 30 s")
        except Exception as error:  # noqa: BLE001
            counters.error("revocation", error)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300)
    args = parser.parse_args()
    os.environ.setdefault("TSAN_OPTIONS", "halt_on_error=0 history_size=4")
    env = ace.started(ace.SecurityEnvironment())
    counters = Counters()
    stop = threading.Event()
    loads = [(storm, ()), (storm, ()), (takeover, ()), (takeover, ()),
             (subscriber, ("soak-subscriber", False)), (subscriber, ("soak-reauth", True)),
             (publisher, (0,)), (publisher, (1,)), (publisher, (2,)), (revocation, ())]
    threads = [threading.Thread(target=load, args=(env, stop, counters, *extra), daemon=True)
               for load, extra in loads]
    failures = []
    try:
        for thread in threads:
            thread.start()
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            time.sleep(min(30, max(0, end - time.monotonic())))
            print("soak: %4.0f s left: %s" % (max(0, end - time.monotonic()), dict(counters.done)), flush=True)
        stop.set()
        for thread in threads:
            thread.join(60)
        try:
            final = connected(env, "soak-final", "final")
            final.disconnect()
        except Exception as error:  # noqa: BLE001
            failures.append("the broker no longer serves a fresh client: %r" % (error,))
    finally:
        stop.set()
        env.broker.stop()
        env.as_process.stop()
        logs = env.logs()
        env.stop()
    reports = logs.count(TSAN_REPORT)
    if reports:
        failures.append("%d ThreadSanitizer report(s)" % reports)
        print(logs[logs.index(TSAN_REPORT) - 200:][:20000])
    for kind in ("storm", "takeover", "delivered", "published", "reauth", "revocation"):
        if counters.done[kind] == 0:
            failures.append("no %s completed" % kind)
    print("soak: completed %s" % dict(counters.done))
    print("soak: errors (connections ended by takeovers and revocations are expected) %s"
          % dict(counters.errors))
    for kind, text in counters.last_error.items():
        print("soak: last %s error: %s" % (kind, text))
    if failures:
        print("soak: FAILED: " + "; ".join(failures))
        return 1
    print("soak: passed, no ThreadSanitizer report in %.0f s" % args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
