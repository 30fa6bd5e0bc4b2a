"""End-to-end: the `acemq` CLI tries every address its broker's host name resolves to.

On Debian 12, /etc/hosts names localhost both ::1 and 127.0.0.1, and the resolver returns ::1
first; a broker on its embedded defaults listens on 127.0.0.1 only. A client that tries only the
first address cannot reach it by name. The test runs in a private mount namespace (unshare --mount)
whose /etc/hosts puts ::1 first, and checks that the CLI's TLS connection reaches a server of the
test on 127.0.0.1 with the name it was given as SNI. Without unshare(1) or the right to make a
namespace, it says so and is skipped.
"""

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from namespaces import run_inside  # noqa: E402

IN_NAMESPACE = "ACEMQ_CLIENT_ADDRESSES_TEST_NAMESPACE"
HOSTS = "::1\tlocalhost\n127.0.0.1\tlocalhost\n"
TIMEOUT = 20


def bind_hosts_file():
    """Inside the namespace: an /etc/hosts that resolves localhost to ::1 first."""
    hosts = tempfile.NamedTemporaryFile("w", prefix="acemq-hosts-", delete=False)
    hosts.write(HOSTS)
    hosts.close()
    subprocess.run(["mount", "--bind", hosts.name, "/etc/hosts"], check=True)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class host_names(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="acemq-client-addresses-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        pki = os.path.join(self.directory, "pki")
        subprocess.run([os.environ["ACEMQ_DEV_PKI"], pki], check=True, stdout=subprocess.DEVNULL)
        self.ca = os.path.join(pki, "ca.pem")
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"))
        # Credentials of the shape `acemq token get --out` writes; this server never checks them.
        self.credentials = os.path.join(self.directory, "credentials.json")
        with open(self.credentials, "w") as handle:
            json.dump({"token": b64url(os.urandom(48)),
                       "pop_key": {"kty": "oct", "k": b64url(os.urandom(32))},
                       "expires_at": int(time.time()) + 3600, "scope": '[["demo/#",["pub"]]]',
                       "audience": "acemq-broker", "as": "https://127.0.0.1:8443"}, handle)

    def test_localhost_reaches_a_broker_on_127_0_0_1_when_the_resolver_says_1_first(self):
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)
        port = listener.getsockname()[1]
        first = socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)[0]
        self.assertEqual(first[0], socket.AF_INET6,
                         "the namespace's /etc/hosts should make ::1 the first address of localhost")
        names = []
        self.context.sni_callback = lambda _socket, name, _context: names.append(name)

        def serve_one():
            listener.settimeout(TIMEOUT)
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                self.context.wrap_socket(connection, server_side=True).close()
            except (OSError, ssl.SSLError):
                connection.close()

        server = threading.Thread(target=serve_one, daemon=True)
        server.start()
        result = subprocess.run([os.environ["ACEMQ_CLIENT"], "pub", "-h", "localhost", "-p", str(port),
                                 "--cafile", self.ca, "--credentials", self.credentials,
                                 "--pop", "challenge", "-t", "demo/addresses", "-m", "x"],
                                capture_output=True, text=True, timeout=TIMEOUT)
        listener.close()  # the CLI has exited: a server still waiting for it stops waiting
        server.join(TIMEOUT)
        self.assertEqual(names, ["localhost"],
                         "acemq pub -h localhost did not reach the server on 127.0.0.1 "
                         "(exit %d): %s" % (result.returncode, result.stdout + result.stderr))


if __name__ == "__main__":
    run_inside("--mount", IN_NAMESPACE, bind_hosts_file, programs=("mount",))
    unittest.main(verbosity=2)
