// Transport: seq numbering, batching, size splitting, retries, overflow, beacons.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadInContext, fakeTimers, flushMicrotasks } = require('./helpers');

function setup(opts = {}) {
  const { W } = loadInContext();
  const timers = fakeTimers();
  const posts = [];
  const beacons = [];
  let answer = opts.answer || (() => true);
  const t = W.makeTransport({
    sid: 's1', now: timers.now, setTimeout: timers.setTimeout, intervalMs: 1000,
    maxBatch: opts.maxBatch, maxBytes: opts.maxBytes, maxQueue: opts.maxQueue, beaconBytes: opts.beaconBytes,
    send: (body, bytes) => { posts.push({ body, bytes, records: JSON.parse(body) }); return Promise.resolve(answer(posts.length)); },
    beacon: (body) => { const ok = opts.beacon ? opts.beacon(body) : true; if (ok) beacons.push(JSON.parse(body)); return ok; },
  });
  return { W, t, timers, posts, beacons, setAnswer: (f) => { answer = f; } };
}

const allSent = (posts, beacons = []) => posts.flatMap((p) => p.records).concat(beacons.flat());

test('records carry v, sid, seq from 0 without gaps, ts and kind; sent after the interval as one JSON array', async () => {
  const { t, timers, posts } = setup();
  for (let i = 0; i < 5; i++) t.emit('probe', { start: i, delay: 0 });
  assert.equal(posts.length, 0);
  await timers.advance(1000);
  assert.equal(posts.length, 1);
  const recs = posts[0].records;
  assert.deepEqual(recs.map((r) => r.seq), [0, 1, 2, 3, 4]);
  for (const r of recs) {
    assert.equal(r.v, 1);
    assert.equal(r.sid, 's1');
    assert.equal(r.kind, 'probe');
    assert.equal(typeof r.ts, 'number');
  }
  assert.equal(t.pending(), 0);
});

test('200 queued records are sent at once, without waiting for the interval', async () => {
  const { t, timers, posts } = setup();
  for (let i = 0; i < 200; i++) t.emit('probe', { start: i, delay: 1 });
  await timers.advance(0);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].records.length, 200);
});

test('batches never exceed maxBytes: a large queue is split and nothing is lost or repeated', async () => {
  const { t, timers, posts } = setup({ maxBytes: 2000 });
  for (let i = 0; i < 100; i++) t.emit('frames', { t: [i, i + 16.7, i + 33.3] });
  await timers.advance(10000);
  assert.ok(posts.length > 1, 'split into several POSTs');
  for (const p of posts) {
    assert.ok(p.bytes <= 2000, `batch of ${p.bytes} bytes`);
    assert.equal(Buffer.byteLength(p.body), p.bytes);
  }
  assert.deepEqual(allSent(posts).map((r) => r.seq), [...Array(100).keys()]);
});

test('a failed POST is retried later and loses nothing', async () => {
  const { t, timers, posts, setAnswer } = setup();
  setAnswer((n) => n > 2); // first two POSTs fail
  for (let i = 0; i < 10; i++) t.emit('probe', { start: i, delay: 0 });
  await timers.advance(1000);
  assert.equal(posts.length, 1);
  t.emit('probe', { start: 10, delay: 0 });
  await timers.advance(60000);
  const ok = posts.slice(2).flatMap((p) => p.records);
  assert.deepEqual(ok.map((r) => r.seq), [...Array(11).keys()], 'every record delivered once after the failures');
  assert.equal(t.pending(), 0);
  assert.equal(t.stats.failures, 2);
});

test('a rejected send (network error) is retried too', async () => {
  const { W } = loadInContext();
  const timers = fakeTimers();
  let calls = 0;
  const got = [];
  const t = W.makeTransport({
    sid: 's', now: timers.now, setTimeout: timers.setTimeout,
    send: (body) => { calls++; if (calls === 1) return Promise.reject(new TypeError('Failed to fetch')); got.push(...JSON.parse(body)); return Promise.resolve(true); },
  });
  t.emit('probe', { start: 0, delay: 0 });
  await timers.advance(10000);
  assert.equal(calls, 2);
  assert.deepEqual(got.map((r) => r.seq), [0]);
});

test('413 from the receiver halves the batch size; the records still arrive once', async () => {
  const { t, timers, posts, setAnswer } = setup({ maxBytes: 8192 });
  setAnswer((n) => (n === 1 ? 'too-big' : true));
  for (let i = 0; i < 150; i++) t.emit('probe', { start: i, delay: 0 });
  await timers.advance(5000);
  assert.ok(posts[0].bytes > 4096, `first batch ${posts[0].bytes} bytes`);
  assert.deepEqual(posts.slice(1).flatMap((p) => p.records).map((r) => r.seq), [...Array(150).keys()]);
  for (const p of posts.slice(1)) assert.ok(p.bytes <= 4096, `batch after 413: ${p.bytes} bytes`);
});

test('queue overflow drops the newest records, leaves a seq gap and reports the count', async () => {
  const { t, timers, posts, setAnswer } = setup({ maxQueue: 10 });
  setAnswer(() => false); // receiver down: the queue fills
  for (let i = 0; i < 15; i++) t.emit('probe', { start: i, delay: 0 });
  assert.equal(t.pending(), 10);
  assert.equal(t.stats.dropped, 5);
  setAnswer(() => true);
  await timers.advance(60000); // retries drain the queue
  t.emit('probe', { start: 99, delay: 0 });
  await timers.advance(60000);
  const recs = allSent(posts.filter((p, i) => i >= 0)).filter((r, i, a) => a.findIndex((x) => x.seq === r.seq) === i);
  const dropped = recs.find((r) => r.kind === 'dropped');
  assert.ok(dropped, 'a dropped record was sent');
  assert.equal(dropped.count, 5);
  const seqs = recs.map((r) => r.seq).sort((a, b) => a - b);
  assert.deepEqual(seqs.slice(0, 10), [...Array(10).keys()]);
  assert.ok(!seqs.includes(10) && !seqs.includes(14), 'dropped records leave a gap');
  assert.ok(seqs.includes(15) && seqs.includes(16));
});

test('final() emits end and beacons everything in chunks within the beacon limit', async () => {
  const { t, beacons, posts } = setup({ beaconBytes: 1500 });
  for (let i = 0; i < 60; i++) t.emit('probe', { start: i, delay: 0.5 });
  t.final('pagehide');
  assert.equal(posts.length, 0);
  assert.ok(beacons.length > 1, 'several beacons');
  for (const b of beacons) assert.ok(Buffer.byteLength(JSON.stringify(b)) <= 1500);
  const recs = beacons.flat();
  assert.deepEqual(recs.map((r) => r.seq), [...Array(61).keys()]);
  const end = recs[recs.length - 1];
  assert.equal(end.kind, 'end');
  assert.equal(end.reason, 'pagehide');
  assert.equal(t.emit('probe', { start: 1, delay: 1 }), -1, 'nothing after end');
});

test('final() does not beacon records already in flight, and keeps refused ones for a later POST', async () => {
  let refuse = true;
  const { t, timers, posts, beacons } = setup({ beacon: () => !refuse });
  for (let i = 0; i < 3; i++) t.emit('probe', { start: i, delay: 0 });
  t.flush(); // 3 records in flight (the promise has not settled yet)
  t.emit('probe', { start: 3, delay: 0 });
  t.final('pagehide'); // beacon refused: records stay queued
  assert.equal(beacons.length, 0);
  refuse = false;
  await timers.advance(5000);
  const seqs = allSent(posts, beacons).map((r) => r.seq).sort((a, b) => a - b);
  assert.deepEqual(seqs, [0, 1, 2, 3, 4]);
});

test('utf8Length counts bytes as UTF-8', () => {
  const { W } = loadInContext();
  for (const s of ['abc', 'é', '€', '😀', 'a€😀é', '\ud800x']) assert.equal(W.utf8Length(s), Buffer.byteLength(s), JSON.stringify(s));
});

test('urgent kinds are sent within urgentMs, other records wait for the interval', async () => {
  const { W } = loadInContext();
  const timers = fakeTimers();
  const posts = [];
  const t = W.makeTransport({
    sid: 'w', now: timers.now, setTimeout: timers.setTimeout, intervalMs: 1000, urgentKinds: ['infer'], urgentMs: 100,
    send: (body) => { posts.push(JSON.parse(body)); return Promise.resolve(true); },
  });
  t.emit('mem', { wasm_bytes: 1 });
  await timers.advance(500);
  assert.equal(posts.length, 0, 'mem waits for the interval');
  t.emit('infer', { framework: 'ort', model: 'm', api: 'OrtRun', start: 0, dur: 1, call: 1 });
  await timers.advance(100);
  assert.equal(posts.length, 1, 'infer sent within 100 ms');
  assert.deepEqual(posts[0].map((r) => r.kind), ['mem', 'infer']);
});
