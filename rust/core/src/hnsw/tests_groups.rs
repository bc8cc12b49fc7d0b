//! Groups (sessions) inside the index.
