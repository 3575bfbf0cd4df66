"""webinfer's LiteRT driver: runs one .tflite model for `webinfer native --engine litert`.

Started by native/src/engine/litert.rs as `python3 -c <this file>`; talks JSON lines on
stdin/stdout (stderr is passed through for diagnostics):

  -> {"threads": T, "model_bytes": N}\\n followed by N raw bytes of the model
  <- {"ok": true, "version": "...", "inputs": [{"name", "shape", "dtype"}]}  (shape: -1 = dynamic)
  -> {"cmd": "prepare", "tensors": [{"shape", "dtype", "hex"}, ...]}  (one per input, in order)
  <- {"ok": true}
  -> {"cmd": "run", "collect": bool}
  <- {"ok": true, "dur_ns": D, "outputs": [{"name", "shape", "dtype", "hex"}]}  (only if collect)

A tensor's values travel as little-endian bytes in hex (`dtype` as numpy names it: float32,
int64, bool, ...), so every element type round-trips exactly. An input given in another
dtype than the model's is cast with numpy's `astype`.

Any failure answers {"ok": false, "error": "..."}. `dur_ns` is the wall time of
`Interpreter.invoke()` alone (perf_counter_ns around it), so the IPC is not measured. End of
stdin ends the process. Needs the `ai-edge-litert` and `numpy` packages.
"""
import json
import sys
import time


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    try:
        import numpy as np
        from importlib import metadata
        from ai_edge_litert.interpreter import Interpreter
    except Exception as e:  # noqa: BLE001 - reported to the Rust side
        reply({"ok": False, "error": f"cannot import ai_edge_litert/numpy: {e}"})
        return
    head = sys.stdin.buffer.readline()
    if not head:
        return
    try:
        h = json.loads(head)
        model = sys.stdin.buffer.read(int(h["model_bytes"]))
        it = Interpreter(model_content=model, num_threads=int(h.get("threads") or 1))
        it.allocate_tensors()
        ins = it.get_input_details()
        reply({
            "ok": True,
            "version": metadata.version("ai-edge-litert"),
            "inputs": [
                {"name": d["name"], "shape": [int(x) for x in d.get("shape_signature", d["shape"])],
                 "dtype": np.dtype(d["dtype"]).name}
                for d in ins
            ],
        })
    except Exception as e:  # noqa: BLE001
        reply({"ok": False, "error": f"loading the model: {e}"})
        return
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            if req.get("cmd") == "prepare":
                tensors = req["tensors"]
                if len(tensors) != len(ins):
                    raise ValueError(f"{len(tensors)} tensors for {len(ins)} inputs")
                for d, t in zip(ins, tensors):
                    if list(d["shape"]) != list(t["shape"]):
                        it.resize_tensor_input(d["index"], t["shape"])
                it.allocate_tensors()
                ins = it.get_input_details()
                for d, t in zip(ins, tensors):
                    a = np.frombuffer(bytes.fromhex(t["hex"]), dtype=np.dtype(t["dtype"]).newbyteorder("<"))
                    it.set_tensor(d["index"], a.reshape(t["shape"]).astype(d["dtype"]))
                reply({"ok": True})
            elif req.get("cmd") == "run":
                t = time.perf_counter_ns()
                it.invoke()
                dur = time.perf_counter_ns() - t
                outs = []
                if req.get("collect"):
                    for d in it.get_output_details():
                        a = it.get_tensor(d["index"])
                        o = {"name": d["name"], "shape": [int(x) for x in a.shape], "dtype": a.dtype.name}
                        if a.dtype.kind in "biuf":
                            o["hex"] = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes().hex()
                        outs.append(o)
                reply({"ok": True, "dur_ns": dur, "outputs": outs})
            else:
                reply({"ok": False, "error": f"unknown request {req!r:.80}"})
        except Exception as e:  # noqa: BLE001
            reply({"ok": False, "error": str(e)})


main()
