//! webinfer injector (being built).
