//! The webinfer HTTPS man-in-the-middle proxy.
//!
//! It intercepts CONNECT tunnels carrying TLS with leaf certificates signed by
//! a per-install CA ([`ca`], [`leaf`]), proxies plain HTTP in absolute form,
//! speaks HTTP/1.1 and HTTP/2 on both sides, passes WebSockets and non-TLS
//! tunnels through, always verifies upstream TLS ([`upstream`]), and streams
//! every body. Requests of every flavour go through one pipeline where
//! [`filter::Filter`]s can answer locally, rewrite responses, and get one
//! [`filter::Exchange`] summary per exchange.
//!
//! Start one with [`ProxyBuilder`] (or [`config::ProxyOptions::builder`]).

pub mod body;
pub mod bufread;
pub mod builder;
pub mod ca;
pub mod config;
mod connect;
pub mod error;
pub mod error_page;
pub mod filter;
pub mod headers;
pub mod hosts;
pub mod idle;
mod intercept;
pub mod leaf;
pub mod limits;
pub mod magic;
mod prefixed;
mod service;
pub mod stats;
pub mod upstream;

pub use builder::{ProxyBuilder, ProxyHandle};
pub use ca::CertificateAuthority;
pub use config::{ProxyOptions, Timeouts};
pub use error::ProxyError;
pub use filter::{Body, BodyError, Exchange, Filter, RequestContext, RequestOutcome, Scheme};
pub use stats::StatsSnapshot;
