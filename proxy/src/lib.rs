//! webinfer proxy (being built).
