//! The `mpconn` command (stub: being written).
fn main() {}
