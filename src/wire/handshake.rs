//! The digest challenge, both generations (stub: being written).

/// The digest a listener challenges with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Digest {
    /// Python 3.11 and older: 20 random bytes, raw 16-byte HMAC-MD5 answer, no prefix.
    Legacy,
    /// `{md5}` prefixed (3.12+ form).
    Md5,
    /// `{sha256}`, CPython 3.12+'s default.
    #[default]
    Sha256,
    /// `{sha384}`.
    Sha384,
    /// `{sha3_256}`.
    Sha3_256,
    /// `{sha3_384}`.
    Sha3_384,
}
