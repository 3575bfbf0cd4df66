// Parses a Chrome trace with a real consumer, @paulirish/trace_engine (the DevTools Performance
// panel's trace model), and prints what it found about webinfer's events as JSON:
//   {events, renderer_pids, webinfer_threads: [{pid, tid, name, entries}], webinfer_on_renderer,
//    extension_tracks: [{name, entries}], main_thread_tasks}
// Usage: node web/e2e/check-merged-trace.mjs TRACE.json   (exit 1 if it does not parse)
// trace_engine also computes its page-load insights and may log an error from those (its
// Lantern network graph wants the document request, which a trace started on about:blank
// before a proxied navigation may not hold): it does so for the browser's own trace alone too,
// and parsing is unaffected.
import fs from 'node:fs';
import * as Trace from '../node_modules/@paulirish/trace_engine/models/trace/trace.js';

// trace_engine expects a DOMRect in its environment (as its own analyze-trace.mjs polyfills).
if (typeof globalThis.DOMRect === 'undefined') {
  globalThis.DOMRect = class DOMRect { constructor(x = 0, y = 0, width = 0, height = 0) { Object.assign(this, { x, y, width, height }); } };
}

const file = process.argv[2];
const json = JSON.parse(fs.readFileSync(file, 'utf8'));
const events = json.traceEvents ?? json;
const model = Trace.TraceModel.Model.createWithAllHandlers();
await model.parse(events);
const parsed = model.parsedTrace();
if (!parsed) { console.error('trace_engine: no parsed trace'); process.exit(1); }
const data = parsed.data ?? parsed;
const out = { events: events.length, renderer_pids: [], webinfer_threads: [], extension_tracks: [], main_thread_tasks: 0 };
for (const [pid, proc] of data.Renderer.processes) {
  out.renderer_pids.push(pid);
  for (const [tid, th] of proc.threads) {
    const entries = th.entries ? th.entries.length : 0;
    if (th.name && th.name.startsWith('webinfer ')) out.webinfer_threads.push({ pid, tid, name: th.name, entries });
    if (th.name === 'CrRendererMain' && th.entries) out.main_thread_tasks += th.entries.filter((e) => e.name === 'RunTask').length;
  }
}
out.webinfer_on_renderer = out.webinfer_threads.filter((t) => out.renderer_pids.includes(t.pid)).reduce((a, t) => a + t.entries, 0);
const ext = data.ExtensionTraceData;
for (const t of (ext && ext.extensionTrackData) || []) {
  const n = t.entriesByTrack ? Object.values(t.entriesByTrack).reduce((a, e) => a + e.length, 0) : 0;
  out.extension_tracks.push({ name: t.name, entries: n });
}
console.log(JSON.stringify(out));
