//! The webinfer HTTPS man-in-the-middle proxy: generic, it knows nothing of
//! traces or hooks (those are `webinfer-capture`, installed through the
//! [`Handler`] seam).
//!
//! It intercepts CONNECT tunnels carrying TLS with leaf certificates signed by
//! a per-install CA ([`CertificateAuthority`]), proxies plain HTTP in
//! absolute form, speaks HTTP/1.1 and HTTP/2 on both sides, passes WebSockets
//! and non-TLS tunnels through, always verifies upstream TLS, and streams
//! every body. Requests of every flavour go through one pipeline where a
//! [`Handler`] with a typed per-request context can answer locally, rewrite
//! responses, and get one [`Exchange`] summary per exchange (the steps are
//! listed on [`Handler`]). The magic host [`MAGIC_HOST`] serves the CA
//! download page.
//!
//! Start one with [`ProxyBuilder`] (or [`ProxyOptions::builder`]).
//!
//! # Layers
//!
//! The modules are private; this list of re-exports is the whole public
//! API. Each module uses only modules of its own or earlier rows (the
//! `crate::` edges form a DAG, checked by the `module_dag` test):
//!
//! | layer | modules |
//! | --- | --- |
//! | data | `error`, `types` (bodies, [`RequestContext`], [`Exchange`]) |
//! | seam | `handler` ([`Handler`], pairs, [`NoopHandler`]) |
//! | settings and policy | `ca`, `config`, `hosts`, `headers`, `error_page`, `leaf`, `magic`, `stats` |
//! | streams | `forward` (the pass-through impls of these wrappers), `bufread`, `prefixed`, `idle`, `limits`, `body` ([`InspectBody`], metering, the exchange's end), `upstream` |
//! | exchange | `state` (the shared state of a running proxy), `pipeline` (one request through the handler and upstream) |
//! | tunnels | `tunnel` (CONNECT, peek, pass-through), `intercept` (TLS termination) |
//! | connections | `serve` (listener, HTTP/1.1 and HTTP/2 serving, dispatch) |
//! | start | `builder` ([`ProxyBuilder`], [`ProxyHandle`]) |

mod body;
mod bufread;
mod builder;
mod ca;
mod config;
mod error;
mod error_page;
mod forward;
mod handler;
mod headers;
mod hosts;
mod idle;
mod intercept;
mod leaf;
mod limits;
mod magic;
mod pipeline;
mod prefixed;
mod serve;
mod state;
mod stats;
mod tunnel;
mod types;
mod upstream;

pub use body::{BodyEnd, Inspect, InspectBody};
pub use builder::{ProxyBuilder, ProxyHandle};
pub use ca::{
    default_dir as default_ca_dir, CertificateAuthority, CA_CERT_DER, CA_CERT_PEM, CA_KEY, LEAF_KEY,
};
pub use config::{
    default_max_connections, read_pem_roots, ProxyOptions, ResolveRule, Timeouts, DEFAULT_LISTEN,
    DEFAULT_MAX_HEADER_BYTES, MIN_MAX_HEADER_BYTES,
};
pub use error::ProxyError;
pub use error_page::REASON_HEADER;
pub use handler::{Handler, NoopHandler};
pub use leaf::{leaf_certificate, LEAF_VALIDITY_DAYS};
pub use magic::{MAGIC_HOST, MAGIC_URL};
pub use stats::StatsSnapshot;
pub use types::{empty, full, Body, BodyError, Exchange, RequestContext, RequestOutcome, Scheme};
