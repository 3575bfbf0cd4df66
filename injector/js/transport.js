/* webinfer hook: transport.js — records, sequence numbers, batching, retries, beacons.
 *
 * `W.makeTransport(opts)` returns an emitter. Every record gets v, sid, seq (0,1,2,… per sid),
 * ts, kind. `emit` only queues the caller's fields object (it must not be changed afterwards:
 * every hook emitter passes a fresh object); the record is built and serialized lazily, when
 * its batch is assembled in a later task, so no JSON work runs inside the page's calls.
 * Records are POSTed as a JSON array by `opts.send(body)` (a promise; rejection or a non-ok
 * response means "retry later") every `intervalMs` or as soon as `maxBatch` records wait. A
 * record stays in the queue until its batch was acknowledged, so a failed POST loses nothing.
 * A batch never exceeds `maxBytes` (UTF-8) and is split otherwise. The queue is bounded
 * (`maxQueue` records); on overflow the newest records are dropped — their seq numbers stay
 * unused, so the gap shows the loss — and a `dropped` record with the count is emitted once
 * there is room again. Records of `opts.urgentKinds` are sent within `opts.urgentMs`.
 * `final(reason)` emits `end` and hands everything not yet in flight to `opts.beacon(body)`
 * in chunks of at most `beaconBytes`; `flushAll()` does the same without `end` (the document
 * became hidden: it may be discarded without another event).
 */
(function (G) {
  'use strict';
  var W = G[Symbol.for('webinfer.hook')];
  if (!W || W.skip) return;

  W.makeTransport = function (opts) {
    var sid = opts.sid;
    var now = opts.now || W.now;
    var maxBatch = opts.maxBatch || 200;
    var maxBytes = opts.maxBytes || 1024 * 1024;
    var maxQueue = opts.maxQueue || 20000;
    var beaconBytes = opts.beaconBytes || 60000;
    var intervalMs = opts.intervalMs || 1000;
    var setTimer = opts.setTimeout || function (f, ms) { return G.setTimeout(f, ms); };

    var seq = 0;
    // [{seq, ts, kind, f: fields} until serialized, then {s: json string, n: utf8 bytes}]
    var queue = [];
    var inflight = 0; // number of records at the head of the queue currently being POSTed
    var dropped = 0; // records dropped since the last `dropped` record
    var failures = 0;
    var timer = null;
    var timerDue = Infinity;
    // Kinds that are sent within `urgentMs` (workers: they end without notice).
    var urgentKinds = opts.urgentKinds || [];
    var urgentMs = opts.urgentMs || 0;
    var urgentQueued = 0; // urgent records in the queue (not yet acknowledged)
    var ended = false;
    var stats = { posts: 0, failures: 0, records: 0, dropped: 0, beacons: 0 };

    /** Remove `count` records at `from` (sent or beaconed). */
    function remove(from, count) {
      var gone = queue.splice(from, count);
      for (var i = 0; i < gone.length; i++) if (gone[i].u) urgentQueued--;
    }

    /** The wait before the next flush of what is still queued. */
    function nextWait() {
      if (queue.length - inflight >= maxBatch) return 0;
      return urgentQueued > 0 ? urgentMs : intervalMs;
    }

    /** Serialize queue[i] if it is not yet (false: it could not be, and was removed). */
    function materialize(i) {
      var q = queue[i];
      if (q.s !== undefined) return true;
      var rec = { v: 1, sid: sid, seq: q.seq, ts: q.ts, kind: q.kind };
      var fields = q.f;
      if (fields) {
        for (var k in fields) {
          if (Object.prototype.hasOwnProperty.call(fields, k) && fields[k] !== undefined &&
              k !== 'v' && k !== 'sid' && k !== 'seq' && k !== 'ts' && k !== 'kind') {
            rec[k] = fields[k];
          }
        }
      }
      var str;
      try {
        str = JSON.stringify(rec);
      } catch (e) {
        W.internalError('stringify ' + q.kind, e);
        str = null;
      }
      var n = str === null ? 0 : W.utf8Length(str);
      if (str === null || n + 2 > maxBytes) {
        // Can never be sent (in one batch): counted as dropped; its seq stays unused.
        remove(i, 1);
        dropped++;
        stats.dropped++;
        return false;
      }
      q.s = str;
      q.n = n;
      q.f = null;
      return true;
    }

    /** Queue one record of `kind` with `fields`; returns its seq (or -1 if dropped). */
    function emit(kind, fields, ts) {
      if (ended && kind !== 'end') return -1;
      if (queue.length >= maxQueue) {
        seq++;
        dropped++;
        stats.dropped++;
        return -1;
      }
      var t = ts != null ? ts : now();
      var s0 = seq++;
      var urgent = urgentMs > 0 && urgentKinds.indexOf(kind) >= 0;
      queue.push({ seq: s0, ts: t, kind: kind, f: fields, u: urgent });
      if (urgent) urgentQueued++;
      stats.records++;
      if (dropped > 0 && queue.length < maxQueue) {
        // The drop note takes the next number after this record (seq stays monotone in queue
        // order).
        var d = dropped;
        dropped = 0;
        queue.push({ seq: seq++, ts: t, kind: 'dropped', f: { count: d } });
      }
      if (queue.length - inflight >= maxBatch) schedule(0);
      else if (urgent) schedule(urgentMs);
      else schedule(intervalMs);
      return s0;
    }

    /** Take up to maxBatch records / maxBytes from queue[from..]; returns the count. */
    function batchSize(from, limitBytes) {
      var bytes = 2;
      var i = from;
      while (i < queue.length && i - from < maxBatch) {
        if (!materialize(i)) continue; // removed: queue[i] is the next record now
        var add = queue[i].n + (i > from ? 1 : 0);
        if (bytes + add > limitBytes) break;
        bytes += add;
        i++;
      }
      return i - from;
    }

    function body(from, count) {
      var parts = new Array(count);
      for (var i = 0; i < count; i++) parts[i] = queue[from + i].s;
      return '[' + parts.join(',') + ']';
    }

    /** Make sure a flush happens within `ms` (an earlier pending flush is kept). */
    function schedule(ms) {
      var due = now() + ms;
      if (timer !== null && timerDue <= due) return;
      var t = setTimer(function () {
        if (timer === t) { timer = null; timerDue = Infinity; }
        flush();
      }, ms);
      timer = t;
      timerDue = due;
    }

    /** POST the head of the queue (one batch) unless a POST is already in flight. */
    function flush() {
      if (inflight > 0 || queue.length === 0) return;
      if (opts.beforeFlush) W.safe('beforeFlush', opts.beforeFlush);
      var count = batchSize(0, maxBytes);
      if (count === 0) return;
      var b = body(0, count);
      inflight = count;
      stats.posts++;
      var p;
      try {
        p = opts.send(b, W.utf8Length(b));
      } catch (e) {
        p = Promise.reject(e);
      }
      Promise.resolve(p).then(function (ok) {
        if (ok === 'too-big' && count > 1) {
          // The receiver wants smaller batches: halve and retry at once.
          maxBytes = Math.max(4096, Math.floor(maxBytes / 2));
          inflight = 0;
          schedule(0);
          return;
        }
        if (ok === false || ok === 'too-big') throw new Error('not ok');
        remove(0, inflight);
        inflight = 0;
        failures = 0;
        // Urgent records that arrived while this POST was in flight keep their deadline.
        if (queue.length > 0) schedule(nextWait());
      }).catch(function () {
        inflight = 0;
        failures++;
        stats.failures++;
        schedule(Math.min(30000, intervalMs * Math.pow(2, Math.min(failures, 5))));
      });
    }

    /** Hand every record not in flight to the beacon, in chunks; refused ones stay queued. */
    function beaconAll() {
      var from = inflight;
      while (from < queue.length) {
        var count = batchSize(from, beaconBytes);
        if (count === 0) break;
        var ok = false;
        try { ok = opts.beacon ? opts.beacon(body(from, count)) : false; } catch (e) { ok = false; }
        if (!ok) break;
        stats.beacons++;
        remove(from, count);
      }
      if (queue.length > inflight) schedule(0);
    }

    /**
     * Emit `end` (reason) and hand every record not in flight to the beacon, in chunks.
     * Records whose beacon was refused stay queued for the next flush.
     */
    function final(reason) {
      if (!ended) {
        if (opts.beforeFlush) W.safe('beforeFlush', opts.beforeFlush);
        emit('end', { reason: reason });
        ended = true;
      }
      beaconAll();
    }

    /** Send everything now by beacon, without `end` (the document became hidden). */
    function flushAll() {
      if (opts.beforeFlush) W.safe('beforeFlush', opts.beforeFlush);
      beaconAll();
    }

    /** Resume after a bfcache restore (pageshow persisted): new records are accepted again. */
    function resume() { ended = false; }

    return {
      sid: sid,
      emit: emit,
      flush: flush,
      final: final,
      flushAll: flushAll,
      resume: resume,
      stats: stats,
      pending: function () { return queue.length; },
      nextSeq: function () { return seq; }
    };
  };
})(globalThis);
