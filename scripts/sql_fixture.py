#!/usr/bin/env python3
"""Writes seeded traces that exercise every metric family and attribution rule,
for the SQL check (scripts/sql_check.sh): LLM `gen` requests, Event Timing
inputs with interactions, long tasks, long animation frames, paints, video
frames, probes inside and outside inference, layered records to fold, a helper
graph beside a real model, a backend known only from `env`, two models in one
page, renderer and browser RSS, native baselines matched by sha256 and by file
name, a session spread over two files, an unknown kind, a record missing a
required field, an invalid line in the middle and a torn last line.

Usage: sql_fixture.py OUT_DIR [SEED]
"""

import json
import os
import random
import sys


def main():
    out = sys.argv[1]
    rnd = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
    os.makedirs(out, exist_ok=True)
    T0 = 1796146200000.0

    def writer(path):
        f = open(os.path.join(out, path), "w", encoding="utf-8")
        seqs = {}

        def w(sid, kind, ts, by=None, **fields):
            key = (sid, by)
            seq = seqs.get(key, 0)
            seqs[key] = seq + 1
            rec = {"v": 1, "sid": sid, "seq": seq, "ts": round(ts, 3), "kind": kind}
            if by:
                rec["by"] = by
            rec.update(fields)
            f.write(json.dumps(rec) + "\n")
        return f, w

    sha_a = "a" * 64
    for n, (browser, variant) in enumerate([("chromium", "default"), ("firefox", "no-simd"), ("chromium", "webgpu")]):
        sid = f"fx-page-{n}"
        f, w = writer(f"{sid}.jsonl")
        w(sid, "session", 0, source="page", url=f"https://app.test/p{n}?x=1", time_origin=T0 + n * 1000,
          user_agent="Mozilla/5.0 Chrome/156.0", hardware_concurrency=4, cross_origin_isolated=True,
          label="fixture", variant=variant, browser={"name": browser, "version": "156"})
        w(sid, "env", 1, framework="ort", version="1.30", backend="wasm")
        w(sid, "model_load", 2, framework="ort", model="https://cdn.test/m/model.onnx", start=2, dur=300 + 40 * n,
          bytes=4_000_000, sha256=sha_a if n != 2 else None)
        if n == 0:
            w(sid, "model_load", 3, framework="ort", model="https://cdn.test/m/second.onnx", start=3, dur=120, bytes=1_000_000)
        w(sid, "paint", 5, name="first-contentful-paint", start=40.0 + n)
        w(sid, "paint", 6, name="largest-contentful-paint", start=60.0 + n)
        w(sid, "paint", 9, name="largest-contentful-paint", start=95.0 + n)
        t = 400.0
        call = 0
        frame_t = 350.0
        vt, vp = 350.0, 100
        for k in range(40):
            call += 1
            dur = rnd.uniform(8, 30) * (1 + n)
            # n == 1: the backend comes from `env` only
            extra = {} if n == 1 else {"backend": "wasm"}
            w(sid, "infer", t + dur, framework="ort", model="https://cdn.test/m/model.onnx", api="InferenceSession.run",
              layer="model", start=t, dur=dur, call=call, **extra)
            if n == 2 and k % 3 == 0:
                # an older hook's lower layer of the same call: folded
                w(sid, "infer", t + dur, framework="ort", model="https://cdn.test/m/model.onnx", api="OrtRun",
                  start=t + 0.5, dur=dur - 1, call=call + 100, backend="wasm")
            if n == 0:
                # a helper graph after each call, and a second real model every 4th call
                w(sid, "infer", t + dur + 2, framework="ort", model="onnx:83B", api="InferenceSession.run",
                  layer="model", start=t + dur + 0.5, dur=1.2, call=k + 1, backend="wasm",
                  model_origin="generated", model_bytes=83)
                if k % 4 == 0:
                    w(sid, "infer", t + dur + 9, framework="ort", model="https://cdn.test/m/second.onnx",
                      api="InferenceSession.run", layer="model", start=t + dur + 3, dur=5.5, call=k // 4 + 1, backend="wasm")
            if n == 1 and k == 20:
                w(sid, "env", t + 1, framework="ort", version="1.30", backend="webgl")
            while frame_t < t + dur + 15:
                frame_t += rnd.choice([16.7, 16.6, 16.7, 33.4, 50.1]) if frame_t > t else 16.7
                w(sid, "frames", frame_t, t=[round(frame_t, 3)])
            while vt < t + dur + 15:
                vt += 33.3
                vp += rnd.choice([1, 1, 2])
                w(sid, "video_frames", vt, t=[round(vt, 3)], presented=[vp])
            w(sid, "probe", t + 3, start=t + 1, delay=rnd.uniform(0, dur))
            w(sid, "probe", t + dur + 8, start=t + dur + 6, delay=rnd.uniform(0, 3))
            w(sid, "mem", t + dur, js_heap_used=20e6 + k * 1e5 * (n + 1), wasm_bytes=30e6 + k * 2e4,
              **({"tf_gpu_bytes": 1e6 + k} if n == 2 else {}))
            if k % 5 == 0:
                w(sid, "mem", t + dur + 1, by="audit", rss=500e6 + k * 1e6, renderer_rss=200e6 + k * 5e5 * n)
                w(sid, "longtask", t + 2, start=t, dur=40 + rnd.uniform(0, 80))
                w(sid, "loaf", t + 3, start=t, dur=70, blocking_dur=rnd.uniform(0, 30))
                w(sid, "input", t + 4, name="pointerdown", start=t + 1, dur=24 + k, processing_start=t + 4 + n,
                  processing_end=t + 9, interaction_id=1000 + k // 10)
                w(sid, "input", t + 4, name="pointerup", start=t + 2, dur=16 + k, processing_start=t + 3,
                  processing_end=t + 6, interaction_id=1000 + k // 10)
            t += dur + rnd.uniform(5, 40)
        # LLM requests: the first pays warm-up
        for g in range(4):
            start = t + g * 900
            w(sid, "gen", start + 800, framework="transformers.js", model=f"https://cdn.test/llm{n % 2}/decoder.onnx",
              api="pipeline", start=start, dur=700 + rnd.uniform(0, 200), call=g + 1, prompt_tokens=12,
              output_tokens=20 + g * 3 + n, ttft=80 + rnd.uniform(0, 40), tpot_p50=25 + rnd.uniform(0, 5))
        w(sid, "hologram", t, depth=3)
        w(sid, "infer", t + 1, framework="ort", model="https://cdn.test/m/model.onnx", start=t)  # no dur/call
        f.write("not json at all\n")
        w(sid, "end", t + 4000, reason="done")
        f.close()
        # the proxy's records of the same session in another file
        f, w = writer(f"{sid}.proxy.jsonl")
        w(sid, "session", -1, by="proxy", source="page", url=f"https://app.test/p{n}?x=1", status=200, label="fixture",
          variant=variant)
        w(sid, "net", 1, by="proxy", url="https://cdn.test/m/model.onnx?v=3", method="GET", status=200,
          content_type="application/octet-stream", bytes=4_000_000, start_unix_ms=T0, dur=30,
          sha256=sha_a if n == 2 else "b" * 64)
        f.write('{"v":1,"sid":"' + sid + '","seq":99,"ts":5,"kind":"net","url":"https://cdn.te')
        f.close()
    # native baselines: one with the same bytes (sha256), one matching by file name only
    for n, (model, sha) in enumerate([("/models/model.onnx", sha_a), ("/other/dir/model.onnx", None)]):
        sid = f"fx-native-{n}"
        f, w = writer(f"{sid}.jsonl")
        w(sid, "session", 0, source="native", time_origin=T0, engine="ort", engine_version="1.30", threads=2,
          label="fixture", url=model)
        w(sid, "model_load", 1, framework="ort", model=model, start=1, dur=50, bytes=4_000_000,
          **({"sha256": sha} if sha else {}))
        t = 60.0
        for k in range(30):
            dur = rnd.uniform(3, 6) * (1 + n)
            w(sid, "infer", t + dur, framework="ort", model=model, backend="cpu", api="run", start=t, dur=dur, call=k + 1)
            t += dur + 0.2
        w(sid, "end", t + 1, reason="done")
        f.close()


if __name__ == "__main__":
    main()
