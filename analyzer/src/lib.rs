//! webinfer analyzer (being built).
