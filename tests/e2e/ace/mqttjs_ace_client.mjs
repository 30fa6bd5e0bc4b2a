// An independent ACE client (RFC 9431) built from MQTT.js and node's own TLS and crypto: it reads
// the token and HS256 PoP key from an `acemq token get` credentials file and proves possession
//   exporter:  CONNECT AuthData = u16 len || token || HMAC-SHA256(key, X), X the TLS exporter
//              `EXPORTER-ACE-MQTT-Sign-Challenge`, empty context, 32 bytes (RFC 9431 2.2.4.2.2)
//   challenge: CONNECT AuthData = u16 len || token; the broker's AUTH 0x18 carries an 8-byte nonce,
//              the answer is client nonce (8 bytes) || HMAC-SHA256(key, rs_nonce || client_nonce)
//              (RFC 9431 2.2.4.2.1)
// Then it subscribes to demo/#, publishes one QoS 1 message to demo/mqttjs-<mode> and waits for it,
// and publishes to private/x, which the broker must refuse (PUBACK 0x87, RFC 9431 2.2.5).
// Negative modes: exporter-wrong-key (MAC under another key) and exporter-other-session (MAC over
// the exporter of a second TLS session) must be refused at CONNECT with 0x87.
// reauth: exporter CONNECT, SUBSCRIBE demo/r/a and demo/r/b, then re-authentication (AUTH 0x19,
// RFC 9431 4) with a narrower token (demo/r/b publish-only): the broker's AUTH 0x18 is answered
// with the new key, a message to demo/r/b no longer arrives, one to demo/r/a does; then AUTH 0x19
// with a worse token must end in DISCONNECT 0x87.
// resumed: a device reconnecting with TLS 1.3 session resumption (the ticket the broker sent on
// its first connection): the resumed session has a new exporter (RFC 8446 7.5), so the proof made
// over the first session's exporter is refused with 0x87, and a proof over the new one is accepted.
// Run by ace_profile_e2e.py / ace_flows_e2e.py: argv = mode, broker port, CA file, credentials
// file, message[, narrower credentials file, worse credentials file (reauth)].
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import tls from 'node:tls';

const require = createRequire(path.resolve(process.env.ACEMQ_NODE_PROJECT, 'package.json'));
const { MqttClient } = require('mqtt');

const [mode, port, caFile, credentialsFile, message, narrowFile, worseFile] = process.argv.slice(2);
const TIMEOUT_MS = 20000;
const EXPORTER_LABEL = 'EXPORTER-ACE-MQTT-Sign-Challenge';
const NOT_AUTHORIZED = 0x87;

function readCredentials(file) {
  const credentials = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(credentials.pop_key.kty, 'oct', 'this client proves possession of an HS256 key');
  return {
    token: Buffer.from(credentials.token, 'base64url'),
    key: Buffer.from(credentials.pop_key.k, 'base64url'),
  };
}

const { token, key } = readCredentials(credentialsFile);
// The key that answers challenges: the new token's after a re-authentication starts.
let popKey = key;
const hmac = (data) => crypto.createHmac('sha256', popKey).update(data).digest();

function withTokenLength(...parts) {
  return withLength(token, ...parts);
}

function withLength(bytes, ...parts) {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes, ...parts]);
}

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in time`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

// The newest session ticket any connection received (TLS 1.3: after the handshake).
let latestTicket;

function tlsConnect(extra = {}) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: Number(port),
        ca: fs.readFileSync(caFile),
        ...extra,
      });
      s.on('session', (ticket) => {
        latestTicket = ticket;
      });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    }),
    'TLS handshake',
  );
}

// A zero-length context buffer: "empty context", not "no context" (RFC 5705 4).
const exporterOf = (s) => s.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.alloc(0));

if (mode === 'resumed') {
  await resumed();
  process.exit(0);
}

// The TLS handshake must be complete before CONNECT is built: the exporter belongs to this session.
const socket = await tlsConnect();

let authenticationData;
let expectRefusal = false;
if (mode === 'exporter' || mode === 'reauth') {
  authenticationData = withTokenLength(hmac(exporterOf(socket)));
} else if (mode === 'exporter-wrong-key') {
  // Negative: a MAC under a key that is not the token's cnf key.
  expectRefusal = true;
  const wrong = crypto.createHmac('sha256', crypto.randomBytes(32)).update(exporterOf(socket)).digest();
  authenticationData = withTokenLength(wrong);
} else if (mode === 'exporter-other-session') {
  // Negative: a correct MAC over the exporter of another TLS session (a replayed CONNECT).
  expectRefusal = true;
  const other = await tlsConnect();
  authenticationData = withTokenLength(hmac(exporterOf(other)));
  other.destroy();
} else {
  assert.equal(mode, 'challenge');
  authenticationData = withTokenLength();
}

let challenges = 0;
let reauthenticated = () => {};
const client = new MqttClient(() => socket, {
  protocolVersion: 5,
  reconnectPeriod: 0,
  connectTimeout: TIMEOUT_MS,
  clientId: `mqttjs-${mode}-${process.pid}`,
  properties: { authenticationMethod: 'ace', authenticationData },
});
client.handleAuth = (packet, callback) => {
  if ((packet.reasonCode ?? 0) === 0) {
    // AUTH 0x00: the broker accepted the re-authentication [MQTT-4.12.1].
    reauthenticated();
    callback(null);
    return;
  }
  const rsNonce = packet.properties.authenticationData;
  if (rsNonce.length !== 8) {
    callback(new Error(`broker nonce of ${rsNonce.length} bytes`));
    return;
  }
  challenges += 1;
  const clientNonce = crypto.randomBytes(8);
  callback(null, {
    cmd: 'auth',
    reasonCode: 0x18,
    properties: {
      authenticationMethod: 'ace',
      authenticationData: Buffer.concat([clientNonce, hmac(Buffer.concat([rsNonce, clientNonce]))]),
    },
  });
};

const connected = await withTimeout(
  new Promise((resolve) => {
    client.once('connect', (packet) => resolve({ packet }));
    client.once('error', (error) => resolve({ error }));
    client.once('close', () => resolve({ error: new Error('closed before CONNACK') }));
  }),
  'CONNECT',
);
if (expectRefusal) {
  // RFC 9431 2.2.4.2.2: a PoP that does not verify fails the CONNECT with 0x87.
  assert.ok(connected.error, `${mode}: the broker accepted a wrong proof of possession`);
  assert.equal(connected.error.code, NOT_AUTHORIZED, `${mode}: ${connected.error.message}`);
  console.log(`refused connect ${connected.error.code}`);
  client.end(true);
  process.exit(0);
}
if (connected.error) throw connected.error;
assert.equal(connected.packet.reasonCode ?? 0, 0);
assert.equal(challenges, mode === 'challenge' ? 1 : 0, 'one broker challenge exactly when asked');
console.log(`connected ${mode}`);

if (mode === 'reauth') {
  await reauthenticate();
  process.exit(0);
}

const topic = `demo/mqttjs-${mode}`;
const received = new Promise((resolve) => {
  client.on('message', (t, payload) => {
    if (t === topic && payload.toString() === message) resolve();
  });
});
const granted = await withTimeout(client.subscribeAsync('demo/#', { qos: 1 }), 'SUBSCRIBE');
assert.equal(granted[0].qos, 1);
await withTimeout(client.publishAsync(topic, message, { qos: 1 }), 'PUBLISH');
await withTimeout(received, 'delivery');
console.log(`received ${topic} ${message}`);

const refusal = await withTimeout(
  client.publishAsync('private/x', 'outside the scope', { qos: 1 }).then(
    () => null,
    (error) => error,
  ),
  'PUBLISH outside the scope',
);
assert.ok(refusal, 'a publish outside the scope must be refused');
assert.equal(refusal.code, NOT_AUTHORIZED, `refused with ${refusal.code}: ${refusal.message}`);
console.log(`refused private/x ${refusal.code}`);

await withTimeout(client.endAsync(), 'DISCONNECT');
console.log('done');

async function reauthenticate() {
  const received = [];
  let arrived = () => {};
  client.on('message', (t, payload) => {
    received.push(t);
    if (t === 'demo/r/a' && payload.toString() === message) arrived();
  });
  const granted = await withTimeout(
    client.subscribeAsync(['demo/r/a', 'demo/r/b'], { qos: 1 }),
    'SUBSCRIBE',
  );
  assert.deepEqual(
    granted.map((g) => g.qos),
    [1, 1],
  );

  // RFC 9431 4: AUTH 0x19 with the new token alone; the challenge is answered with its key.
  const narrow = readCredentials(narrowFile);
  popKey = narrow.key;
  const accepted = new Promise((resolve) => {
    reauthenticated = resolve;
  });
  client._sendPacket({
    cmd: 'auth',
    reasonCode: 0x19,
    properties: { authenticationMethod: 'ace', authenticationData: withLength(narrow.token) },
  });
  await withTimeout(accepted, 're-authentication');
  assert.equal(challenges, 1, 'the re-authentication was challenged once');
  console.log('re-authenticated');

  // Publishing to demo/r/b is still allowed, receiving it no longer: the subscription is gone.
  const delivered = new Promise((resolve) => {
    arrived = resolve;
  });
  await withTimeout(client.publishAsync('demo/r/b', 'pruned', { qos: 1 }), 'PUBLISH demo/r/b');
  await withTimeout(client.publishAsync('demo/r/a', message, { qos: 1 }), 'PUBLISH demo/r/a');
  await withTimeout(delivered, 'delivery on demo/r/a');
  assert.ok(!received.includes('demo/r/b'), 'a message on the pruned subscription arrived');
  console.log('pruned subscription demo/r/b');

  // A worse token: the re-authentication fails and the broker disconnects with 0x87.
  const worse = readCredentials(worseFile);
  const disconnected = new Promise((resolve) => {
    client.once('disconnect', (packet) => resolve(packet.reasonCode));
  });
  client._sendPacket({
    cmd: 'auth',
    reasonCode: 0x19,
    properties: { authenticationMethod: 'ace', authenticationData: withLength(worse.token) },
  });
  const reason = await withTimeout(disconnected, 'DISCONNECT after a worse token');
  assert.equal(reason, NOT_AUTHORIZED);
  console.log(`worse token disconnect ${reason}`);
  client.end(true);
}

// An MQTT 5 CONNECT with method ace and `data` over the TLS socket `s`: { client, packet } or
// { client, error }.
async function connectOver(s, data, clientId) {
  const mqttClient = new MqttClient(() => s, {
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: TIMEOUT_MS,
    clientId,
    properties: { authenticationMethod: 'ace', authenticationData: data },
  });
  return withTimeout(
    new Promise((resolve) => {
      mqttClient.once('connect', (packet) => resolve({ client: mqttClient, packet }));
      mqttClient.once('error', (error) => resolve({ client: mqttClient, error }));
      mqttClient.once('close', () =>
        resolve({ client: mqttClient, error: new Error('closed before CONNACK') }),
      );
    }),
    'CONNECT',
  );
}

async function resumed() {
  const first = await tlsConnect({ minVersion: 'TLSv1.3' });
  assert.equal(first.isSessionReused(), false);
  const firstExporter = exporterOf(first);
  const one = await connectOver(first, withTokenLength(hmac(firstExporter)), `mqttjs-resumed-1-${process.pid}`);
  if (one.error) throw one.error;
  // The broker sends its ticket right after the handshake; it has arrived before the CONNACK.
  await withTimeout(
    new Promise((resolve) => {
      const check = () => (latestTicket ? resolve() : setTimeout(check, 10));
      check();
    }),
    'session ticket',
  );
  await withTimeout(one.client.endAsync(), 'DISCONNECT');
  console.log('full handshake, ticket received');

  // A replayed proof: made over the first session's exporter, sent over a resumed session.
  const replay = await tlsConnect({ minVersion: 'TLSv1.3', session: latestTicket });
  assert.ok(replay.isSessionReused(), 'the broker resumed the TLS 1.3 session');
  assert.notDeepEqual(exporterOf(replay), firstExporter, 'a resumed session has a new exporter');
  const refused = await connectOver(replay, withTokenLength(hmac(firstExporter)), `mqttjs-resumed-2-${process.pid}`);
  assert.ok(refused.error, 'the broker accepted a proof over another session\'s exporter');
  assert.equal(refused.error.code, NOT_AUTHORIZED, refused.error.message);
  refused.client.end(true);
  console.log(`replayed proof refused ${refused.error.code}`);

  const again = await tlsConnect({ minVersion: 'TLSv1.3', session: latestTicket });
  assert.ok(again.isSessionReused(), 'the broker resumed the TLS 1.3 session');
  const two = await connectOver(again, withTokenLength(hmac(exporterOf(again))), `mqttjs-resumed-3-${process.pid}`);
  if (two.error) throw two.error;
  assert.equal(two.packet.reasonCode ?? 0, 0);
  await withTimeout(two.client.endAsync(), 'DISCONNECT');
  console.log('resumed connection accepted');
}
