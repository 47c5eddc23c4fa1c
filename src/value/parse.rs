//! (stub: being written)

impl std::str::FromStr for super::Value {
    type Err = crate::Error;
    fn from_str(_s: &str) -> crate::Result<super::Value> {
        todo!()
    }
}
