// End-to-end: MQTT.js (MQTT 5) against the real broker. Run by mqttjs_test.py, which starts the
// broker and passes ACEMQ_TCP_PORT and ACEMQ_NODE_PROJECT (the folder holding node_modules).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve(process.env.ACEMQ_NODE_PROJECT, 'package.json'));
const mqtt = require('mqtt');

const url = `mqtt://127.0.0.1:${process.env.ACEMQ_TCP_PORT}`;
const TIMEOUT_MS = 10000;
let counter = 0;
const unique = (prefix) => `${prefix}/${process.pid}-${++counter}`;

/** Connects (MQTT 5) and returns the client with a queue of received messages. */
async function connect(options = {}) {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: TIMEOUT_MS,
    ...options,
  });
  const waiting = [];
  const arrived = [];
  client.on('message', (topic, payload, packet) => {
    const message = { topic, payload: payload.toString(), packet };
    const next = waiting.shift();
    if (next) next(message);
    else arrived.push(message);
  });
  client.receive = () =>
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

const single = (value) => (Array.isArray(value) ? value : [value]);

const tests = {
  async topic_aliases_client_to_broker() {
    const topic = unique('e2e/js/alias-in');
    const receiver = await connect();
    await receiver.subscribeAsync(topic, { qos: 1 });
    const sender = await connect();
    // First PUBLISH sets alias 1; the second sends an empty topic name with the alias.
    await sender.publishAsync(topic, 'first', { qos: 1, properties: { topicAlias: 1 } });
    await sender.publishAsync('', 'second', { qos: 1, properties: { topicAlias: 1 } });
    assert.deepEqual([(await receiver.receive()).payload, (await receiver.receive()).payload],
                     ['first', 'second']);
    // Nothing else was delivered in between: the next message is the marker.
    await sender.publishAsync(topic, 'end', { qos: 1 });
    assert.equal((await receiver.receive()).payload, 'end');
    await Promise.all([receiver.endAsync(), sender.endAsync()]);
  },

  async topic_aliases_broker_to_client() {
    const topic = unique('e2e/js/alias-out');
    const receiver = await connect({ properties: { topicAliasMaximum: 10 } });
    await receiver.subscribeAsync(topic, { qos: 1 });
    const sender = await connect();
    await sender.publishAsync(topic, 'one', { qos: 1 });
    await sender.publishAsync(topic, 'two', { qos: 1 });
    const first = await receiver.receive();
    const second = await receiver.receive();
    assert.equal(first.topic, topic);
    assert.equal(second.topic, topic);
    assert.equal(second.payload, 'two');
    // The broker assigned an alias (within our maximum) and reused it.
    const alias = first.packet.properties?.topicAlias;
    assert.ok(alias >= 1 && alias <= 10, `alias ${alias}`);
    assert.equal(second.packet.properties?.topicAlias, alias);
    await Promise.all([receiver.endAsync(), sender.endAsync()]);
  },

  async shared_subscriptions() {
    const topic = unique('e2e/js/shared');
    const members = [await connect(), await connect()];
    for (const member of members) {
      await member.subscribeAsync(`$share/js/${topic}`, { qos: 1 });
      await member.subscribeAsync(`${topic}/end`, { qos: 1 });
    }
    const sender = await connect();
    for (let i = 0; i < 10; ++i) await sender.publishAsync(topic, String(i), { qos: 1 });
    await sender.publishAsync(`${topic}/end`, 'end', { qos: 1 });
    const seen = [];
    for (const member of members) {
      for (;;) {
        const message = await member.receive();
        if (message.topic.endsWith('/end')) break;
        seen.push(Number(message.payload));
      }
    }
    assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await Promise.all([...members, sender].map((client) => client.endAsync()));
  },

  async subscription_identifiers() {
    const topic = unique('e2e/js/subid');
    const receiver = await connect();
    await receiver.subscribeAsync(`${topic}/+`, { qos: 1, properties: { subscriptionIdentifier: 42 } });
    const sender = await connect();
    await sender.publishAsync(`${topic}/x`, 'identified', { qos: 1 });
    const message = await receiver.receive();
    assert.deepEqual(single(message.packet.properties?.subscriptionIdentifier), [42]);
    await Promise.all([receiver.endAsync(), sender.endAsync()]);
  },

  async user_properties() {
    const topic = unique('e2e/js/userprops');
    const receiver = await connect();
    await receiver.subscribeAsync(topic, { qos: 1 });
    const sender = await connect();
    await sender.publishAsync(topic, 'props', {
      qos: 1,
      properties: { userProperties: { region: 'eu', tier: 'gold' } },
    });
    const message = await receiver.receive();
    assert.deepEqual({ ...message.packet.properties?.userProperties }, { region: 'eu', tier: 'gold' });
    await Promise.all([receiver.endAsync(), sender.endAsync()]);
  },

  async request_response() {
    const requests = unique('e2e/js/request');
    const responses = unique('e2e/js/response');
    const responder = await connect();
    await responder.subscribeAsync(requests, { qos: 1 });
    const requester = await connect();
    await requester.subscribeAsync(responses, { qos: 1 });
    await requester.publishAsync(requests, 'question', {
      qos: 1,
      properties: { responseTopic: responses, correlationData: Buffer.from('c0ffee', 'hex') },
    });
    const request = await responder.receive();
    await responder.publishAsync(request.packet.properties.responseTopic, 'answer', {
      qos: 1,
      properties: { correlationData: request.packet.properties.correlationData },
    });
    const response = await requester.receive();
    assert.equal(response.payload, 'answer');
    assert.equal(Buffer.from(response.packet.properties.correlationData).toString('hex'), 'c0ffee');
    await Promise.all([responder.endAsync(), requester.endAsync()]);
  },

  async qos2_round_trip() {
    const topic = unique('e2e/js/qos2');
    const receiver = await connect();
    const granted = await receiver.subscribeAsync(topic, { qos: 2 });
    assert.equal(granted[0].qos, 2);
    const sender = await connect();
    for (let i = 0; i < 5; ++i) await sender.publishAsync(topic, `m${i}`, { qos: 2 });
    const got = [];
    for (let i = 0; i < 5; ++i) {
      const message = await receiver.receive();
      assert.equal(message.packet.qos, 2);
      got.push(message.payload);
    }
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
    await Promise.all([receiver.endAsync(), sender.endAsync()]);
  },
};

let failures = 0;
for (const [name, test] of Object.entries(tests)) {
  try {
    await test();
    console.log(`ok   ${name}`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name}: ${error.stack ?? error}`);
  }
}
console.log(`${Object.keys(tests).length - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
