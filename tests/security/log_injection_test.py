"""Security: log injection through client-chosen strings.

Whatever a client chooses - its Client Identifier, its User Name, the topics it publishes and
subscribes to - must not be able to forge lines of the broker's log or smuggle terminal control
sequences into it. The attacker connects over raw sockets (so the bytes are exactly its own) to a
broker logging at debug level, with:

* a Client Identifier "evil\\nacemq-broker: listening forged (tcp) on 1.2.3.4:1\\n", which written
  as is forges a whole line that looks like the broker announcing a listener (the very line
  tests/e2e/harness.py and operators' scripts parse for the port);
* a User Name "bob\\r\\x1b[31mred\\x1b[0m\\x07\\u009b2J" without a password (an anonymous
  client) - carriage return, ANSI colour escape, bell, and the C1 control CSI (U+009B, which some
  terminals read as ESC [);
* a SUBSCRIBE and a QoS 1 PUBLISH on "log/\\x1b[2J\\x07/\\r\\nforged-topic-line" (the broker may
  refuse control characters in topics; then its refusal must still be logged escaped);
* in MQTT 3.1.1, a Client Identifier "evil311\\nFORGED-311\\x1b[0m" with a User Name
  "\\x1b]0;pwned\\x07" (an xterm title change);
* a refused password login (user alice, wrong password) with Client Identifier
  "pw\\nFORGED password line\\x1b[0m", which the password provider logs at info level.

The broker may refuse such identifiers (CONNACK 0x85); the log lines about them must be escaped
all the same.

test_text_log_escapes_control_characters: in the text log (the broker's output, read as raw bytes)
no line may start with the injected text, no raw CR, ESC, BEL or C1 CSI may appear, and the Client
Identifiers must appear in an escaped form (a backslash escape of the newline: \\n, \\x0a,
\\u000a or \\012; of ESC: \\e, \\x1b, \\u001b or \\033).

test_json_log_stays_one_valid_object_per_line: with log.format = json the same traffic must leave
every log line a valid JSON object without raw C0 control characters (a control: RFC 8259
escaping is in place today; it does not cover C1 characters, which are valid JSON).
"""

import json
import os
import re
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from security_harness import V311, V5, Broker, RawClient, Workspace  # noqa: E402

PASSWORD = uuid.uuid4().hex
FORGED_LINE = "acemq-broker: listening forged (tcp) on 1.2.3.4:1"
CLIENT_ID = "evil\n" + FORGED_LINE + "\n"
USER_NAME = "bob\r\x1b[31mred\x1b[0m\x07\u009b2J"  # ... and C1 CSI, U+009B
TOPIC = "log/\x1b[2J\x07/\r\nforged-topic-line"
CLIENT_ID_311 = "evil311\nFORGED-311\x1b[0m"
USER_NAME_311 = "\x1b]0;pwned\x07"
PASSWORD_CLIENT_ID = "pw\nFORGED password line\x1b[0m"

# Line starts that only an injection can produce.
FORGED_STARTS = [FORGED_LINE.encode(), b"FORGED", b"forged-topic-line"]
C0_BYTES = {b"\r": "CR", b"\x1b": "ESC", b"\x07": "BEL"}  # RFC 8259 escapes these in JSON
CONTROL_BYTES = {**C0_BYTES, "\u009b".encode(): "C1 CSI (U+009B)"}

NEWLINE = rb"(?:\\n|\\x0a|\\x0A|\\u000a|\\u000A|\\012)"
ESCAPE = rb"(?:\\e|\\x1b|\\x1B|\\u001b|\\u001B|\\033)"
ESCAPED_CLIENT_IDS = {
    "the MQTT 5 Client Identifier": rb"evil" + NEWLINE + re.escape(FORGED_LINE.encode()) + NEWLINE,
    "the MQTT 3.1.1 Client Identifier": rb"evil311" + NEWLINE + rb"FORGED-311" + ESCAPE + rb"\[0m",
    "the Client Identifier of the refused password login":
        rb"pw" + NEWLINE + rb"FORGED password line" + ESCAPE + rb"\[0m",
}


class log_injection(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workspace = Workspace(users={"alice": PASSWORD})

    @classmethod
    def tearDownClass(cls):
        cls.workspace.close()

    def setUp(self):
        self.clients = []
        self.broker = None

    def tearDown(self):
        for each in self.clients:
            each.close()
        if self.broker:
            self.broker.close()

    def start(self, *overrides):
        data_dir = self.workspace.fresh()
        self.broker = Broker("log.level=debug", "auth.allow_anonymous=true",
                             "auth.password_file=" + os.path.join(data_dir, "passwd"),
                             *overrides, data_dir=data_dir)

    def raw(self, version=V5):
        made = RawClient(self.broker, version)
        self.clients.append(made)
        return made

    def inject(self):
        """The attacker's traffic; returns what the broker answered, for failure messages."""
        answers = []
        # Anonymous MQTT 5 client with the forging Client Identifier and User Name.
        evil = self.raw()
        connack = evil.connect(CLIENT_ID, username=USER_NAME)
        answers.append("MQTT 5 CONNECT: %s" % (connack,))
        if connack.reason == 0:
            try:
                answers.append("SUBSCRIBE: 0x%02x" % evil.subscribe(TOPIC, 1))
                answers.append("PUBLISH: PUBACK 0x%02x" % evil.publish(TOPIC, b"payload", qos=1))
                evil.disconnect()
            except (AssertionError, OSError) as refused:  # a broker may close on such a topic
                answers.append("topic refused: %s" % refused)
        # MQTT 3.1.1.
        old = self.raw(V311)
        connack = old.connect(CLIENT_ID_311, username=USER_NAME_311)
        answers.append("MQTT 3.1.1 CONNECT: %s" % (connack,))
        if connack.reason == 0:
            try:
                answers.append("SUBSCRIBE: 0x%02x" % old.subscribe(TOPIC, 1))
                old.publish(TOPIC, b"payload", qos=1)
                old.disconnect()
            except (AssertionError, OSError) as refused:
                answers.append("topic refused: %s" % refused)
        # A refused password login, logged by the password provider.
        guess = self.raw()
        connack = guess.connect(PASSWORD_CLIENT_ID, username="alice", password="not the password")
        answers.append("password login: %s" % (connack,))
        self.assertNotEqual(connack.reason, 0, "a wrong password was accepted")
        guess.read_until_closed()
        # All output written before the process exits is read by the harness thread.
        code = self.broker.stop()
        self.assertEqual(code, 0, "broker exit code %d" % code)
        return answers

    def test_text_log_escapes_control_characters(self):
        self.start("log.format=text")
        answers = self.inject()
        raw = self.broker.raw_log()
        lines = raw.split(b"\n")
        context = "\nclient saw: %s\nbroker log (raw bytes, repr per line):\n%s" % (
            "; ".join(answers), "\n".join(repr(line) for line in lines))

        forged = [line for line in lines if line.startswith(tuple(FORGED_STARTS))]
        self.assertFalse(forged, "log lines forged by client-chosen strings: %r%s"
                         % (forged, context))
        for byte, name in CONTROL_BYTES.items():
            offending = [line for line in lines if byte in line]
            self.assertFalse(offending, "raw %s in the log: %r%s" % (name, offending, context))
        for what, pattern in ESCAPED_CLIENT_IDS.items():
            self.assertRegex(raw, re.compile(pattern), "%s is not logged escaped%s"
                             % (what, context))

    def test_json_log_stays_one_valid_object_per_line(self):
        self.start("log.format=json")
        answers = self.inject()
        lines = [line for line in self.broker.raw_log().split(b"\n") if line]
        context = "\nclient saw: %s\nbroker log:\n%s" % (
            "; ".join(answers), "\n".join(repr(line) for line in lines))
        messages = []
        for line in lines:
            if line.startswith(b"{"):
                try:
                    record = json.loads(line.decode("utf-8"))
                except ValueError as error:
                    self.fail("not a JSON line (%s): %r%s" % (error, line, context))
                self.assertIsInstance(record, dict)
                self.assertTrue(set(record) >= {"time", "level", "message"}, repr(line))
                messages.append(record["message"])
            else:
                # Only the broker's own plain start-up lines are not JSON.
                self.assertTrue(line.startswith((b"acemq-broker: ", b"  try: ")),
                                "a line that is neither JSON nor the broker's own: %r%s"
                                % (line, context))
                self.assertFalse(line.startswith(FORGED_LINE.encode()),
                                 "forged line %r%s" % (line, context))
        for byte, name in C0_BYTES.items():
            self.assertNotIn(byte, b"\n".join(lines), "raw %s byte in the JSON log%s"
                             % (name, context))
        # The password provider's refusal names the client (escaped either way).
        self.assertTrue(any("FORGED password line" in each for each in messages),
                        "the refused password login is not in the JSON log" + context)


if __name__ == "__main__":
    unittest.main()
