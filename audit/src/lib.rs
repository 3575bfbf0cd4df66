//! `webinfer audit`: drives unmodified browsers (Chromium, Firefox ESR) through
//! the webinfer proxy and collects traces; also serves the bundled demo app.
//!
//! - [`site`]: an HTTPS static file server with its own throw-away CA, used for
//!   the embedded demo and by end-to-end tests.

pub mod site;
