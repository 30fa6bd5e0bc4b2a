"""Shared helpers of the authorization server's abuse tests (as_*_test.py): the real acemq-as
alone, with a TOML configuration of the test's choosing, and HTTPS requests from a chosen
loopback source address (abuse_harness.source), so one test can play several hosts.

The process and its output lines come from the ACE end-to-end module (ProcessOutput); every wait
is on an event (the AS's "listening" line, an HTTP response, the end of a stream).
"""

import base64
import http.client
import json
import os
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e", "ace"))

import ace_profile_e2e as profile  # noqa: E402
from abuse_harness import LEGITIMATE, MALLORY, source  # noqa: E402,F401

AUDIENCE = "broker"
RS_SECRET = "rs-secret-1"
OWNER, OWNER_SECRET = "home-owner", "home-owner-secret-1"
CLIENT, CLIENT_SECRET = "alice", "alice-secret-1"
TIMEOUT = profile.STEP_TIMEOUT


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(value)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body or b"null")

    def __repr__(self):
        return "HTTP %d %r %r" % (self.status, self.headers, self.body[:200])


class AuthorizationServer:
    """`acemq-as serve` on a free port of 127.0.0.1 with `settings` ({"table.key": value}) as its
    configuration file, one resource server (AUDIENCE), one owner (OWNER, subtree home/#) and one
    client (CLIENT) granted home/alice/#. With `descriptor_limit`, the AS runs with that soft
    RLIMIT_NOFILE, so a test can exhaust its descriptors with few sockets."""

    def __init__(self, settings=None, descriptor_limit=None):
        self.root = tempfile.mkdtemp(prefix="acemq-as-abuse-")
        self.settings = {"https.address": "127.0.0.1", "https.port": 0}
        self.settings.update(settings or {})
        self.descriptor_limit = descriptor_limit
        self.process = None
        self.port = None
        self.context = None

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def admin(self, *arguments):
        done = subprocess.run([os.environ["ACEMQ_AS"], "--data-dir", self.path("as"), "admin",
                               *arguments], capture_output=True, text=True, timeout=TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError("acemq-as admin %s: %s%s" % (" ".join(arguments), done.stdout,
                                                            done.stderr))
        return done.stdout

    def write_config(self):
        tables = {}
        for name, value in self.settings.items():
            table, _, key = name.rpartition(".")
            tables.setdefault(table, []).append("%s = %s" % (key, toml_value(value)))
        lines = list(tables.pop("", []))
        for table, entries in tables.items():
            lines += ["", "[%s]" % table] + entries
        path = self.path("acemq-as.toml")
        with open(path, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    def start(self):
        os.makedirs(self.path("as"))
        self.admin("rs", "create", AUDIENCE, "--secret", RS_SECRET, "--rs-cnf", '{"kid":"k"}',
                   "--encryption-key", json.dumps(profile.ENCRYPTION_KEY))
        self.admin("owner", "create", OWNER, "--secret", OWNER_SECRET, "--subtree",
                   AUDIENCE + "=home/#")
        self.admin("client", "create", CLIENT, "--secret", CLIENT_SECRET)
        self.admin("grant", "create", "--owner", OWNER, "--client", CLIENT, "--audience", AUDIENCE,
                   "--filter", "home/alice/#", "--permissions", "pub,sub", "--lifetime", "86400")
        limit = self.descriptor_limit

        def limit_descriptors():
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))

        self.process = profile.ProcessOutput([os.environ["ACEMQ_AS"], "--config",
                                              self.write_config(), "--data-dir", self.path("as"),
                                              "serve", "--issuer", "https://127.0.0.1"],
                                             preexec_fn=limit_descriptors if limit else None)
        ready = self.process.wait_for(r"listening on https://\S+:(\d+) issuer \S+ "
                                      r"certificate (\S+)", profile.START_TIMEOUT)
        self.port = int(ready.group(1))
        self.context = ssl.create_default_context(cafile=ready.group(2))
        self.context.check_hostname = False
        return self

    def stop(self):
        if self.process:
            self.process.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self):
        return self.process.log() if self.process else ""

    # ---- requests ------------------------------------------------------------------------------

    def connection(self, source_address=LEGITIMATE, timeout=TIMEOUT):
        """A keep-alive HTTPS connection from `source_address`."""
        host = self.settings["https.address"].strip("[]")  # 127.0.0.1 unless the test says
        return http.client.HTTPSConnection(host, self.port, context=self.context,
                                           timeout=timeout, source_address=(source_address, 0))

    def request(self, method, path, body=None, headers=None, source_address=LEGITIMATE,
                connection=None):
        """One request (on `connection` when given, else on a new one from `source_address`)."""
        own = connection is None
        connection = connection or self.connection(source_address)
        try:
            if isinstance(body, str):
                body = body.encode()
            connection.request(method, path, body=body, headers=dict(headers or {}))
            reply = connection.getresponse()
            return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()},
                            reply.read())
        finally:
            if own:
                connection.close()

    def token(self, client=CLIENT, secret=CLIENT_SECRET, **kwargs):
        """POST /token, client_credentials, client_secret_basic."""
        body = json.dumps({"grant_type": "client_credentials", "audience": AUDIENCE,
                           "scope": [["home/alice/#", ["pub", "sub"]]]})
        return self.request("POST", "/token", body, {"Content-Type": "application/ace+json",
                                                     "Authorization": basic(client, secret)},
                            **kwargs)

    def owner_grants(self, owner=OWNER, secret=OWNER_SECRET, **kwargs):
        """GET /owner/grants with Basic credentials."""
        return self.request("GET", "/owner/grants", None, {"Authorization": basic(owner, secret)},
                            **kwargs)

    def introspect(self, server=AUDIENCE, secret=RS_SECRET, token="x", **kwargs):
        return self.request("POST", "/introspect", json.dumps({"token": token}),
                            {"Content-Type": "application/ace+json",
                             "Authorization": basic(server, secret)}, **kwargs)


def started(settings=None, descriptor_limit=None):
    """A started AuthorizationServer; on failure what did start is stopped, then it raises."""
    server = AuthorizationServer(settings, descriptor_limit)
    try:
        return server.start()
    except Exception:
        server.stop()
        raise
