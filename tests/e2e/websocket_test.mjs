// End-to-end: MQTT.js over WebSocket (ws://) and secure WebSocket (wss:// with the development
// CA) against the real broker. Run by operations_test.py, which passes ACEMQ_WS_URL,
// ACEMQ_WSS_URL, ACEMQ_CA and ACEMQ_NODE_PROJECT (the folder holding node_modules).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve(process.env.ACEMQ_NODE_PROJECT, 'package.json'));
const mqtt = require('mqtt');

const TIMEOUT_MS = 10000;
const ca = fs.readFileSync(process.env.ACEMQ_CA);

async function connect(url, options = {}) {
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    connectTimeout: TIMEOUT_MS,
    ca,
    rejectUnauthorized: true,
    ...options,
  });
  const waiting = [];
  const arrived = [];
  client.on('message', (topic, payload) => {
    const message = { topic, payload };
    const next = waiting.shift();
    if (next) next(message);
    else arrived.push(message);
  });
  client.next = () =>
    arrived.length > 0
      ? Promise.resolve(arrived.shift())
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no message in time')), TIMEOUT_MS);
          waiting.push((message) => {
            clearTimeout(timer);
            resolve(message);
          });
        });
  return client;
}

const scenarios = {
  async 'ws and wss clients exchange messages at QoS 0, 1 and 2 (MQTT 5 and 3.1.1)'() {
    const subscriber = await connect(process.env.ACEMQ_WS_URL, { protocolVersion: 5 });
    const publisher = await connect(process.env.ACEMQ_WSS_URL, { protocolVersion: 4 });
    await subscriber.subscribeAsync('ws/test/#', { qos: 2 });
    for (const qos of [0, 1, 2]) {
      await publisher.publishAsync(`ws/test/${qos}`, `hello ${qos}`, { qos });
      const message = await subscriber.next();
      assert.equal(message.topic, `ws/test/${qos}`);
      assert.equal(message.payload.toString(), `hello ${qos}`);
    }
    await publisher.endAsync();
    await subscriber.endAsync();
  },

  async 'a message larger than one WebSocket frame arrives intact over wss'() {
    const client = await connect(process.env.ACEMQ_WSS_URL, { protocolVersion: 5 });
    await client.subscribeAsync('ws/large', { qos: 1 });
    const payload = Buffer.alloc(200 * 1024, 7);
    await client.publishAsync('ws/large', payload, { qos: 1 });
    const message = await client.next();
    assert.equal(Buffer.compare(message.payload, payload), 0);
    await client.endAsync();
  },

  async 'a client that does not trust the CA is refused'() {
    await assert.rejects(
      mqtt.connectAsync(process.env.ACEMQ_WSS_URL, {
        reconnectPeriod: 0,
        connectTimeout: TIMEOUT_MS,
        rejectUnauthorized: true,
      }),
    );
  },
};

let failed = 0;
for (const [name, run] of Object.entries(scenarios)) {
  try {
    await run();
    console.log(`ok   ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${error.stack}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
