//! The pickle decoder (stub: being written).
use super::{DecodeOptions, PickleError, PickleErrorKind};
use crate::value::Value;

pub(crate) fn decode(_data: &[u8], _options: &DecodeOptions) -> Result<Value, PickleError> {
    Err(PickleError::new(0, PickleErrorKind::UnexpectedEof))
}
