#!/usr/bin/env python3
"""Summarise the callgrind dumps of scripts/profile-proxy.sh.

Usage: callgrind-split.py OUT_DIR N MB

For each dump (the proxy's `small` and `big` phases; with SIDES=1 also the
direct client and origin) prints the total instructions (Ir), Ir per request
or per MB, a split of the self cost by component (function-name patterns
below, first match wins), the inclusive cost of both TLS sides (the
tokio-rustls stream of the client connection vs the upstream one), and the
top functions by self cost. Reads the callgrind files directly.
"""

import glob
import os
import re
import sys

# Component of a function by its (demangled) name; first match wins.
BUCKETS = [
    ("crypto (ring: AES-GCM, SHA, ECDHE, signatures)",
     r"ring::|ring_core|aes_|aesni|gcm_|GFp|chacha|poly1305|sha256_block|sha512_block|"
     r"x25519|p256|p384|ecp_nistz|bn_|LIMBS|fiat_|nistz"),
    ("TLS framing and handshake (rustls, tokio-rustls)", r"rustls"),
    ("HTTP/1 parse and encode (hyper h1, httparse)", r"hyper::proto::h1|httparse"),
    ("HTTP/2 (h2, hyper h2)", r"\bh2::|hyper::proto::h2"),
    ("hyper client pool and dispatch", r"hyper_util::|hyper::client|hyper::"),
    ("http types (headers, URIs)", r"\bhttp::"),
    ("copies (memcpy/memmove)", r"mem(cpy|move)"),
    ("allocation (malloc/free)",
     r"malloc|\bfree\b|_int_free|realloc|calloc|cfree|__rust_alloc|__rust_dealloc|"
     r"__rdl_|tcache|arena_|unlink_chunk|malloc_consolidate"),
    ("logging (tracing)", r"tracing"),
    ("tokio runtime, timers, I/O driver", r"tokio::|mio::|parking_lot"),
    ("webinfer proxy code", r"webinfer"),
    ("bytes", r"\bbytes::"),
    ("libc syscall wrappers", r"__libc|epoll|__GI_|syscall|__send|__recv|writev|readv|__read|__write"),
]

def bucket(fn):
    for name, pat in BUCKETS:
        if re.search(pat, fn):
            return name
    return "other"


def parse(path):
    """Self cost per function and inclusive cost per call edge, read from a
    callgrind file (name compression, one event: Ir)."""
    names = {}
    self_cost = {}
    edges = {}
    fn = None
    cfn = None
    pending_call = False
    total = 0
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                if len(parts) < 2:
                    continue
                ir = int(parts[-1])
                if pending_call:
                    edges[(fn, cfn)] = edges.get((fn, cfn), 0) + ir
                    pending_call = False
                else:
                    self_cost[fn] = self_cost.get(fn, 0) + ir
                continue
            key, _, val = line.partition("=")
            if key in ("fn", "cfn"):
                m = re.match(r"\((\d+)\)(?: (.*))?", val)
                if m:
                    ident = m.group(1)
                    if m.group(2) is not None:
                        names[ident] = m.group(2)
                    name = names.get(ident, ident)
                else:
                    name = val
                if key == "fn":
                    fn = name
                else:
                    cfn = name
            elif key == "calls":
                pending_call = True
            elif key == "summary" or key == "totals":
                total = int(val.split()[0])
    if not total:
        total = sum(self_cost.values())
    return total, self_cost, edges


def group_inclusive(edges, self_cost, pattern, not_from=None):
    """Inclusive Ir of the functions matching `pattern`: the calls into them
    from functions that do not match (no double counting when they call
    each other)."""
    rx = re.compile(pattern)
    skip = re.compile(not_from) if not_from else None
    ir = 0
    for (caller, callee), v in edges.items():
        if callee and rx.search(callee) and not (caller and rx.search(caller)):
            if skip and caller and skip.search(caller):
                continue
            ir += v
    return ir


UPSTREAM_IO = (r"^<webinfer_proxy::upstream::(UpstreamStream|UpstreamIo) as (tokio::io|hyper::rt)::|"
               r"^<tokio_rustls::client::TlsStream<.*> as tokio::io::")
# (name, functions, callers not counted)
PARTS = [
    ("client side: TLS stream I/O (server::TlsStream)",
     r"^<tokio_rustls::server::TlsStream<.*> as tokio::io::|"
     r"^<tokio_rustls::common::Stream<IO,C> as tokio::io::async_write::AsyncWrite>::",
     UPSTREAM_IO + r"|tokio_rustls::client"),
    ("upstream side: TLS stream I/O (client::TlsStream)", UPSTREAM_IO, None),
    ("hyper HTTP/1 server: parse request heads", r"^<hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::parse", None),
    ("hyper HTTP/1 server: encode response heads", r"^<hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::encode", None),
    ("upstream HTTP/2 connection task (h2 framing, hpack, its TLS I/O)",
     r"^<(h2::client::Connection<T,B>|hyper::client::conn::http2::Connection<T,B,E>|"
     r"hyper::proto::h2::client::H2ClientFuture<B,T,E>) as core::future::future::Future>::poll", None),
    ("upstream client: pool checkout and dispatch", r"^hyper_util::client::legacy::client::Client<C,B>::(send_request|connection_for|request)", None),
    ("proxy request pipeline (Core::handle, before forwarding)", r"webinfer_proxy::service::Core::(handle_request|handle)", r"webinfer_proxy::service::Core::forward"),
    ("trace sink: the `net` record of each exchange (HOOKS=1)",
     r"TraceSink as webinfer_proxy::filter::Filter>::on_complete", None),
    ("injection filter: classify and pass through (HOOKS=1)",
     r"InjectFilter as webinfer_proxy::filter::Filter>::on_(request|response)", None),
    ("tracing (logging)", r"^tracing|tracing_core", None),
    ("memcpy (all callers)", r"mem(cpy|move)", None),
    ("malloc/free (all callers)", r"^(malloc|free|_int_malloc|_int_free|realloc|_int_realloc|calloc|cfree|malloc_consolidate)$", None),
]


def report(path, label, unit, count):
    total, self_cost, edges = parse(path)
    per = total / count if count else 0
    print(f"\n### {label}\n")
    print(f"total {total:,} Ir = **{per:,.0f} Ir per {unit}** ({count:,} {unit}s; `{os.path.basename(path)}`)\n")
    sums = {}
    for fn, ir in self_cost.items():
        b = bucket(fn or "")
        sums[b] = sums.get(b, 0) + ir
    print(f"| component (self cost, by function name) | Ir per {unit} | share |")
    print("| --- | ---: | ---: |")
    for name, ir in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {ir / count:,.0f} | {100 * ir / total:.1f} % |")
    print(f"\n| part (inclusive: with everything it calls) | Ir per {unit} | share |")
    print("| --- | ---: | ---: |")
    for name, pat, not_from in PARTS:
        ir = group_inclusive(edges, self_cost, pat, not_from)
        print(f"| {name} | {ir / count:,.0f} | {100 * ir / total:.1f} % |")
    print(f"\ntop 12 functions by self cost:\n")
    print(f"| Ir per {unit} | share | function |")
    print("| ---: | ---: | --- |")
    for fn, ir in sorted(self_cost.items(), key=lambda kv: -kv[1])[:12]:
        fn = fn or "?"
        short = fn if len(fn) < 100 else fn[:97] + "..."
        print(f"| {ir / count:,.0f} | {100 * ir / total:.1f} % | `{short}` |")
    mc = [(v, a) for (a, b), v in edges.items() if b and re.search(r"mem(cpy|move)", b)]
    mc.sort(reverse=True)
    print(f"\nmemcpy callers: " + "; ".join(
        f"`{(a or '?')[:80]}` {v / count:,.0f}" for v, a in mc[:5]))


def newest(pattern):
    files = sorted(glob.glob(pattern), key=os.path.getmtime)
    return files[-1] if files else None


def main():
    out, n, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for pat, label, unit, count in [
        ("proxy.*.out.1", "proxy, small keep-alive GETs", "request", n),
        ("proxy.*.out.2", f"proxy, one {mb} MB download", "MB", mb),
        ("origin.*.out.1", "origin (direct run), small GETs", "request", n),
        ("origin.*.out.2", f"origin (direct run), one {mb} MB download", "MB", mb),
    ]:
        f = newest(os.path.join(out, pat))
        if f:
            report(f, label, unit, count)
    c = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    for name, label, unit, count, base_count in [
        ("client-small", "client (direct run), small GETs", "request", n, c),
        ("client-big", f"client (direct run), one {mb} MB download", "MB", mb, 1),
    ]:
        f = os.path.join(out, name + ".out")
        fb = os.path.join(out, name + "-base.out")
        if os.path.exists(f) and os.path.exists(fb):
            total, _, _ = parse(f)
            base, _, _ = parse(fb)
            per = (total - base) / (count - base_count)
            print(f"\n### {label}\n")
            print(f"({total:,} Ir - {base:,} Ir of a run with {base_count} {unit}) / "
                  f"{count - base_count} = **{per:,.0f} Ir per {unit}**")


if __name__ == "__main__":
    main()
