//! webinfer native (being built).
