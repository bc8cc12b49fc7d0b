//! Snapshots: round trips, meta, and damage that must be refused.
