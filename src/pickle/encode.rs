//! The pickle encoder (stub: being written).
use super::{EncodeOptions, PickleError, PickleErrorKind};
use crate::value::Value;

pub(crate) fn encode(
    _v: &Value,
    _o: &EncodeOptions,
    _out: &mut Vec<u8>,
) -> Result<(), PickleError> {
    Err(PickleError::new(
        0,
        PickleErrorKind::Unencodable("stub".into()),
    ))
}
