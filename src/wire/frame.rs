//! Length-prefixed frames (stub: being written).
