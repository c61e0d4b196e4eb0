// kafkajs 2.2.4 driven by KafkaJsTests: one action per run, one JSON line on stdout.
//   node client.js produce BROKER TOPIC N
//   node client.js consume BROKER TOPIC GROUP N   (consumer group; commits, then reads the committed offset back)
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [action, broker, topic, ...rest] = process.argv.slice(2);
const kafka = new Kafka({
  clientId: 'kafkajs-membrane',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
  requestTimeout: 8000,
  retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
});

function errorType(e) {
  for (let x = e; x; x = x.originalError || x.cause) {
    if (x.type) return x.type;
  }
  return e.name;
}

async function produce(n) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const messages = Array.from({ length: n }, (_, i) => ({ value: `js${i}` }));
    const result = await producer.send({ topic, messages, acks: -1 });
    return { ok: true, result };
  } finally {
    await producer.disconnect();
  }
}

async function consume(group, n) {
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, retry: { retries: 1 } });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout after ${values.length} messages`)), 20000);
    consumer.on(consumer.events.CRASH, (e) => { clearTimeout(timer); reject(e.payload.error); });
    consumer.run({
      autoCommit: true,
      eachMessage: async ({ message }) => {
        values.push(message.value.toString());
        if (values.length >= n) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  await admin.disconnect();
  return { ok: true, values, committed: offsets[0].partitions.map((p) => p.offset) };
}

(async () => {
  try {
    const out = action === 'produce' ? await produce(Number(rest[0])) : await consume(rest[0], Number(rest[1]));
    console.log(JSON.stringify(out));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, type: errorType(e), message: String(e.message) }));
  }
  process.exit(0);
})();
