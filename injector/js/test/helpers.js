// Test helpers: load the hook (the MANIFEST files, concatenated exactly as injected) into a
// fresh vm context or into this Node process, and collect the records it emits.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const JS_DIR = path.join(__dirname, '..');

/** The hook source: MANIFEST files concatenated in order. */
function hookSource() {
  const names = fs.readFileSync(path.join(JS_DIR, 'MANIFEST'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return names.map((n) => fs.readFileSync(path.join(JS_DIR, n), 'utf8')).join('\n');
}

/** Manual clock + timer queue for deterministic tests. */
function fakeTimers() {
  let now = 0;
  let timers = [];
  let id = 0;
  return {
    now: () => now,
    setTimeout: (f, ms) => { timers.push({ at: now + (ms || 0), f, id: ++id }); return id; },
    /** Advance the clock by ms, running due timers in order. */
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at || a.id - b.id);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.f();
        await flushMicrotasks();
      }
      now = end;
      await flushMicrotasks();
    },
    pending: () => timers.length,
  };
}

async function flushMicrotasks() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}

/**
 * Load the hook into a new vm context whose globals are `globals` (plus the basics).
 * Returns {ctx, W}. With no __WEBINFER_CONFIG__ in globals, main.js starts nothing.
 */
function loadInContext(globals = {}) {
  const ctx = vm.createContext({
    URL, setTimeout, clearTimeout, setInterval, clearInterval, TextEncoder, console,
    performance: { now: () => performance.now(), timeOrigin: performance.timeOrigin, getEntriesByName: () => [], getEntriesByType: () => [] },
    ...globals,
  });
  vm.runInContext(hookSource(), ctx, { filename: 'hook.js' });
  const W = vm.runInContext("globalThis[Symbol.for('webinfer.hook')]", ctx);
  return { ctx, W };
}

/** Load the hook into this Node process (real globals, real Object.prototype). */
function loadHere() {
  globalThis.__WEBINFER_CONFIG__ = { no_start: true };
  vm.runInThisContext(hookSource(), { filename: 'hook.js' });
  return globalThis[Symbol.for('webinfer.hook')];
}

/** Make W emit into an array (records carry kind + fields; seq/ts as the transport would). */
function collect(W) {
  const records = [];
  let seq = 0;
  W.emit = (kind, fields) => {
    const r = { seq: seq++, kind, ...JSON.parse(JSON.stringify(fields || {})) };
    records.push(r);
    return r.seq;
  };
  return records;
}

module.exports = { hookSource, loadInContext, loadHere, collect, fakeTimers, flushMicrotasks, JS_DIR };
