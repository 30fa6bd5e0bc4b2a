"""End-to-end: starts the broker and runs the MQTT.js scenarios (mqttjs_test.mjs) against it."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mqttjs_test.mjs")


class mqttjs(unittest.TestCase):
    def test_mqttjs_scenarios(self):
        with Broker() as broker:
            environment = dict(os.environ, ACEMQ_TCP_PORT=str(broker.tcp_port))
            result = subprocess.run([os.environ.get("ACEMQ_NODE") or "node", SCRIPT],
                                    capture_output=True, text=True, timeout=180,
                                    env=environment)
            print(result.stdout)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(broker.stop(), 0)


if __name__ == "__main__":
    unittest.main()
