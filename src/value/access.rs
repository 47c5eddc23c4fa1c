//! Accessors: `as_str`, `as_i64`, ... (stub: being written)
