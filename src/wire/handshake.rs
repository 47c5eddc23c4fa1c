//! The digest challenge, both generations, with no I/O.
//!
//! The listener *delivers* a challenge and then *answers* one; the client answers first
//! and then delivers. Every step is one framed message of at most
//! [`MAX_HANDSHAKE_MESSAGE`] bytes:
//!
//! 1. deliverer → `#CHALLENGE#` + message, where message is 20 random bytes (legacy,
//!    Python ≤ 3.11) or `{digest}` + 40 random bytes (Python ≥ 3.12);
//! 2. answerer → the raw 16-byte HMAC-MD5 of the message (legacy), or `{digest}` +
//!    HMAC-digest(authkey, message) with the MAC covering the prefix too;
//! 3. deliverer → `#WELCOME#` or `#FAILURE#`.
//!
//! [`ChallengeDeliverer`] and [`ChallengeAnswerer`] are the two roles; the blocking
//! shell in [`crate::Connection`] moves their bytes. Verification accepts an answer in
//! any allowed digest, including a bare 16-byte MD5 answer from a legacy peer, exactly as
//! CPython's `_verify_challenge` does, and compares MACs in constant time.
//!
//! ```
//! use mpconn::wire::handshake::{ChallengeAnswerer, ChallengeDeliverer, Digest};
//! let deliverer = ChallengeDeliverer::new(b"key", Digest::Sha256);
//! let answerer = ChallengeAnswerer::new(b"key");
//! let answer = answerer.answer(deliverer.challenge()).unwrap();
//! let (reply, outcome) = deliverer.verify(&answer);
//! assert!(outcome.is_ok());
//! answerer.finish(reply).unwrap();
//! ```

use std::fmt;

use hmac::{Mac, SimpleHmac};
use subtle::ConstantTimeEq;

use crate::error::AuthError;

/// Shorthand for results of the digest challenge.
type Result<T, E = AuthError> = std::result::Result<T, E>;

/// Prefix of the challenge message.
pub const CHALLENGE: &[u8] = b"#CHALLENGE#";
/// The deliverer's reply to a correct answer.
pub const WELCOME: &[u8] = b"#WELCOME#";
/// The deliverer's reply to a wrong answer.
pub const FAILURE: &[u8] = b"#FAILURE#";
/// Longest message either side reads during the handshake (CPython's `recv_bytes(256)`).
pub const MAX_HANDSHAKE_MESSAGE: usize = 256;
/// Random bytes in a modern challenge (CPython's `MESSAGE_LENGTH`).
pub const MODERN_RANDOM_LEN: usize = 40;
/// Length of a legacy challenge message (and the shortest challenge an answerer accepts).
pub const LEGACY_RANDOM_LEN: usize = 20;
/// Length of a raw HMAC-MD5, the legacy answer.
pub const MD5_LEN: usize = 16;
/// Longest digest name (`sha3_256`, `sha3_384`).
const MAX_DIGEST_NAME: usize = 8;

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

impl Digest {
    /// Every digest, legacy first.
    pub const ALL: [Digest; 6] = [
        Digest::Legacy,
        Digest::Md5,
        Digest::Sha256,
        Digest::Sha384,
        Digest::Sha3_256,
        Digest::Sha3_384,
    ];

    /// The name written between braces (`"sha256"`), `None` for [`Digest::Legacy`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            Digest::Legacy => None,
            Digest::Md5 => Some("md5"),
            Digest::Sha256 => Some("sha256"),
            Digest::Sha384 => Some("sha384"),
            Digest::Sha3_256 => Some("sha3_256"),
            Digest::Sha3_384 => Some("sha3_384"),
        }
    }

    /// The prefixed digest named `name` (`"md5"`, `"sha256"`, `"sha384"`, `"sha3_256"`,
    /// `"sha3_384"`), or [`Digest::Legacy`] for `"legacy"`.
    pub fn from_name(name: &[u8]) -> Option<Digest> {
        Some(match name {
            b"legacy" => Digest::Legacy,
            b"md5" => Digest::Md5,
            b"sha256" => Digest::Sha256,
            b"sha384" => Digest::Sha384,
            b"sha3_256" => Digest::Sha3_256,
            b"sha3_384" => Digest::Sha3_384,
            _ => return None,
        })
    }

    /// Length of the MAC in bytes.
    pub fn mac_len(self) -> usize {
        match self {
            Digest::Legacy | Digest::Md5 => 16,
            Digest::Sha256 | Digest::Sha3_256 => 32,
            Digest::Sha384 | Digest::Sha3_384 => 48,
        }
    }

    /// HMAC of `message` under `key` with this digest (MD5 for [`Digest::Legacy`]).
    pub fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn run<D>(key: &[u8], message: &[u8]) -> Vec<u8>
        where
            D: hmac::digest::Digest + hmac::digest::core_api::BlockSizeUser,
        {
            let mut mac = <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(key)
                .expect("any key length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Digest::Legacy | Digest::Md5 => run::<md5::Md5>(key, message),
            Digest::Sha256 => run::<sha2::Sha256>(key, message),
            Digest::Sha384 => run::<sha2::Sha384>(key, message),
            Digest::Sha3_256 => run::<sha3::Sha3_256>(key, message),
            Digest::Sha3_384 => run::<sha3::Sha3_384>(key, message),
        }
    }

    /// The challenge message (what follows `#CHALLENGE#`) for these random bytes:
    /// `random` itself for legacy, `{name}` + `random` otherwise.
    pub fn challenge_message(self, random: &[u8]) -> Vec<u8> {
        match self.name() {
            None => random.to_vec(),
            Some(name) => {
                let mut message = Vec::with_capacity(name.len() + 2 + random.len());
                message.push(b'{');
                message.extend_from_slice(name.as_bytes());
                message.push(b'}');
                message.extend_from_slice(random);
                message
            }
        }
    }

    /// How many random bytes a challenge with this digest carries (20 legacy, 40 modern).
    pub fn random_len(self) -> usize {
        match self {
            Digest::Legacy => LEGACY_RANDOM_LEN,
            _ => MODERN_RANDOM_LEN,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name().unwrap_or("legacy"))
    }
}

impl std::str::FromStr for Digest {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Digest> {
        Digest::from_name(s.as_bytes()).ok_or_else(|| {
            crate::Error::Value(format!(
                "unknown digest {s:?} (expected legacy, md5, sha256, sha384, sha3_256 or sha3_384)"
            ))
        })
    }
}

/// Splits a challenge message or an answer into its digest and payload, as CPython's
/// `_get_digest_name_and_payload`: exactly 16 or 20 bytes is legacy (MD5, no prefix);
/// otherwise it must start with `{name}` for an allowed name.
pub fn split_digest(message: &[u8]) -> Result<(Digest, &[u8])> {
    if message.len() == LEGACY_RANDOM_LEN || message.len() == MD5_LEN {
        return Ok((Digest::Legacy, message));
    }
    if message.first() == Some(&b'{') {
        let window = &message[1..message.len().min(MAX_DIGEST_NAME + 2)];
        if let Some(close) = window.iter().position(|&b| b == b'}') {
            if let Some(digest) = Digest::from_name(&window[..close]) {
                return Ok((digest, &message[close + 2..]));
            }
        }
    }
    Err(AuthError::Failed(format!(
        "unsupported message length ({} bytes), missing digest prefix, or unsupported digest",
        message.len()
    )))
}

/// The answer to a challenge message (the part after `#CHALLENGE#`), as CPython's
/// `_create_response`: a raw HMAC-MD5 for a legacy challenge, else `{name}` + MAC.
pub fn create_response(key: &[u8], message: &[u8]) -> Result<Vec<u8>> {
    let (digest, _) = split_digest(message)?;
    let mac = digest.mac(key, message);
    Ok(match digest.name() {
        None => mac,
        Some(name) => {
            let mut out = Vec::with_capacity(name.len() + 2 + mac.len());
            out.push(b'{');
            out.extend_from_slice(name.as_bytes());
            out.push(b'}');
            out.extend_from_slice(&mac);
            out
        }
    })
}

/// Checks `response` to the challenge `message`, as CPython's `_verify_challenge`: the
/// answer may use any allowed digest (a bare 16 bytes is MD5); the MAC is compared in
/// constant time. Returns the digest the peer answered with.
pub fn verify_response(key: &[u8], message: &[u8], response: &[u8]) -> Result<Digest> {
    let (digest, mac) = split_digest(response)?;
    let expected = digest.mac(key, message);
    if expected.len() != mac.len() {
        return Err(AuthError::Failed(format!(
            "expected a {digest} MAC of {} bytes, got {}",
            expected.len(),
            mac.len()
        )));
    }
    if bool::from(expected.ct_eq(mac)) {
        Ok(digest)
    } else {
        Err(AuthError::Failed("digest received was wrong".into()))
    }
}

/// An authentication key; its bytes never appear in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey(Vec<u8>);

impl AuthKey {
    /// Wraps key bytes (an empty key is a key: it still authenticates).
    pub fn new(key: &[u8]) -> AuthKey {
        AuthKey(key.to_vec())
    }
    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(<redacted>)")
    }
}

impl Drop for AuthKey {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|b| *b = 0);
    }
}

/// The delivering role (a listener's first step, a client's second).
///
/// Send [`ChallengeDeliverer::challenge`] as one message, read one message of at most
/// [`MAX_HANDSHAKE_MESSAGE`] bytes, pass it to [`ChallengeDeliverer::verify`], and send
/// the reply it returns whatever the outcome.
#[derive(Debug)]
pub struct ChallengeDeliverer {
    key: AuthKey,
    frame: Vec<u8>,
}

impl ChallengeDeliverer {
    /// A challenge with fresh random bytes from the operating system.
    pub fn new(key: &[u8], digest: Digest) -> ChallengeDeliverer {
        let mut random = [0u8; MODERN_RANDOM_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
        ChallengeDeliverer::with_random(key, digest, &random[..digest.random_len()])
    }

    /// A challenge with the given random bytes (for tests reproducing recorded bytes).
    pub fn with_random(key: &[u8], digest: Digest, random: &[u8]) -> ChallengeDeliverer {
        let mut frame = CHALLENGE.to_vec();
        frame.extend_from_slice(&digest.challenge_message(random));
        ChallengeDeliverer {
            key: AuthKey::new(key),
            frame,
        }
    }

    /// The whole challenge message to send (`#CHALLENGE#` included).
    pub fn challenge(&self) -> &[u8] {
        &self.frame
    }

    /// Verifies the peer's answer. Returns the reply to send (`#WELCOME#` or
    /// `#FAILURE#`) and the outcome; on failure the caller MUST send the reply and close.
    #[must_use = "send the reply, and close on failure"]
    pub fn verify(&self, response: &[u8]) -> (&'static [u8], Result<Digest>) {
        let message = &self.frame[CHALLENGE.len()..];
        match verify_response(self.key.expose(), message, response) {
            Ok(d) => (WELCOME, Ok(d)),
            Err(e) => (FAILURE, Err(e)),
        }
    }
}

/// The answering role (a client's first step, a listener's second).
///
/// Read one message of at most [`MAX_HANDSHAKE_MESSAGE`] bytes, send
/// [`ChallengeAnswerer::answer`] of it, read one more and pass it to
/// [`ChallengeAnswerer::finish`].
#[derive(Debug)]
pub struct ChallengeAnswerer {
    key: AuthKey,
}

impl ChallengeAnswerer {
    /// An answerer holding `key`.
    pub fn new(key: &[u8]) -> ChallengeAnswerer {
        ChallengeAnswerer {
            key: AuthKey::new(key),
        }
    }

    /// The answer to a challenge message (`#CHALLENGE#` included), as CPython's
    /// `answer_challenge`: the message must start with `#CHALLENGE#` and carry at least
    /// 20 bytes after it.
    pub fn answer(&self, challenge: &[u8]) -> Result<Vec<u8>> {
        let message = challenge.strip_prefix(CHALLENGE).ok_or_else(|| {
            AuthError::Failed("protocol error: expected a #CHALLENGE# message".into())
        })?;
        if message.len() < LEGACY_RANDOM_LEN {
            return Err(AuthError::Failed(format!(
                "challenge too short: {} bytes",
                message.len()
            )));
        }
        create_response(self.key.expose(), message)
    }

    /// Checks the deliverer's verdict: anything but `#WELCOME#` is a failure.
    pub fn finish(&self, reply: &[u8]) -> Result<()> {
        if reply == WELCOME {
            Ok(())
        } else {
            Err(AuthError::Failed("digest sent was rejected".into()))
        }
    }
}

/// One part of a handshake: delivering a challenge or answering one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Deliver,
    Answer,
}

#[derive(Debug)]
enum State {
    /// Between parts: start the next one.
    Idle,
    /// The challenge is going out; then receive the peer's answer.
    ChallengeSent(ChallengeDeliverer),
    /// The next input is the peer's answer to our challenge.
    Delivered(ChallengeDeliverer),
    /// The next input is the peer's challenge.
    AwaitChallenge(ChallengeAnswerer),
    /// Our answer is going out; then receive the peer's verdict.
    AnswerSent(ChallengeAnswerer),
    /// The next input is the peer's verdict on our answer.
    AwaitVerdict(ChallengeAnswerer),
    /// Failed or finished.
    Over,
}

/// What a [`Handshake`] asks its shell to do next.
#[derive(Debug)]
#[must_use]
pub enum Step {
    /// Send these bytes as one message.
    Send(Vec<u8>),
    /// Receive one message of at most [`MAX_HANDSHAKE_MESSAGE`] bytes (a longer one is an
    /// [`AuthError::Failed`]) and pass it to the next [`Handshake::step`].
    Receive,
    /// The peer gave a wrong answer: send `reply` (`#FAILURE#`) as one message, ignoring
    /// any error doing so, then close the connection and fail with `error`.
    Reject {
        /// The message to send before closing.
        reply: &'static [u8],
        /// The error to return ([`AuthError::Failed`]).
        error: AuthError,
    },
    /// Every part succeeded: the connection is authenticated.
    Done,
}

/// The whole digest challenge as a sequence of [`Step`]s, with no I/O: the blocking and
/// the async shells both run this one sequence and only move its bytes.
///
/// ```
/// use std::collections::VecDeque;
/// use mpconn::wire::handshake::{Digest, Handshake, Step};
///
/// /// Runs one side as far as it can; true once it is done.
/// fn run(h: &mut Handshake, waiting: &mut bool, inbox: &mut VecDeque<Vec<u8>>,
///        outbox: &mut VecDeque<Vec<u8>>) -> bool {
///     loop {
///         let input = if *waiting {
///             match inbox.pop_front() { Some(m) => Some(m), None => return false }
///         } else {
///             None
///         };
///         *waiting = false;
///         match h.step(input.as_deref()).unwrap() {
///             Step::Send(m) => outbox.push_back(m),
///             Step::Receive => *waiting = true,
///             Step::Done => return true,
///             Step::Reject { error, .. } => panic!("{error}"),
///         }
///     }
/// }
/// let mut listener = Handshake::listener(b"key", Digest::Sha256);
/// let mut client = Handshake::client(b"key", Digest::Legacy);
/// let (mut to_listener, mut to_client) = (VecDeque::new(), VecDeque::new());
/// let (mut lw, mut cw, mut l_done, mut c_done) = (false, false, false, false);
/// while !(l_done && c_done) {
///     l_done = l_done || run(&mut listener, &mut lw, &mut to_listener, &mut to_client);
///     c_done = c_done || run(&mut client, &mut cw, &mut to_client, &mut to_listener);
/// }
/// ```
#[derive(Debug)]
pub struct Handshake {
    key: AuthKey,
    digest: Digest,
    parts: [Option<Part>; 2],
    next: usize,
    state: State,
    pending_input: bool,
}

impl Handshake {
    fn new(key: &[u8], digest: Digest, parts: [Option<Part>; 2]) -> Handshake {
        Handshake {
            key: AuthKey::new(key),
            digest,
            parts,
            next: 0,
            state: State::Idle,
            pending_input: false,
        }
    }

    /// A listener's handshake: deliver a challenge in `digest`, then answer the client's.
    pub fn listener(key: &[u8], digest: Digest) -> Handshake {
        Handshake::new(key, digest, [Some(Part::Deliver), Some(Part::Answer)])
    }

    /// A client's handshake: answer the listener's challenge, then deliver one in `digest`.
    pub fn client(key: &[u8], digest: Digest) -> Handshake {
        Handshake::new(key, digest, [Some(Part::Answer), Some(Part::Deliver)])
    }

    /// Only delivering a challenge (Python's `deliver_challenge`).
    pub fn deliver(key: &[u8], digest: Digest) -> Handshake {
        Handshake::new(key, digest, [Some(Part::Deliver), None])
    }

    /// Only answering a challenge (Python's `answer_challenge`).
    pub fn answer(key: &[u8]) -> Handshake {
        Handshake::new(key, Digest::default(), [Some(Part::Answer), None])
    }

    /// Advances: `received` is the message the previous [`Step::Receive`] asked for
    /// (`None` otherwise). Errors are final ([`AuthError::Failed`] for a malformed or
    /// rejected exchange: the shell closes the connection).
    pub fn step(&mut self, received: Option<&[u8]>) -> Result<Step> {
        if self.pending_input != received.is_some() {
            self.state = State::Over;
            return Err(AuthError::Misuse(if self.pending_input {
                "the handshake is waiting for a received message".into()
            } else {
                "the handshake did not ask for a message".into()
            }));
        }
        self.pending_input = false;
        let input = received.unwrap_or_default();
        loop {
            match std::mem::replace(&mut self.state, State::Over) {
                State::Idle => {
                    let Some(part) = self.parts.get(self.next).copied().flatten() else {
                        self.state = State::Idle;
                        return Ok(Step::Done);
                    };
                    self.next += 1;
                    match part {
                        Part::Deliver => {
                            let d = ChallengeDeliverer::new(self.key.expose(), self.digest);
                            let challenge = d.challenge().to_vec();
                            self.state = State::ChallengeSent(d);
                            return Ok(Step::Send(challenge));
                        }
                        Part::Answer => {
                            let a = ChallengeAnswerer::new(self.key.expose());
                            self.state = State::AwaitChallenge(a);
                            return Ok(self.receive());
                        }
                    }
                }
                State::ChallengeSent(d) => {
                    self.state = State::Delivered(d);
                    return Ok(self.receive());
                }
                State::Delivered(d) => {
                    let (reply, outcome) = d.verify(input);
                    return match outcome {
                        Ok(_) => {
                            self.state = State::Idle;
                            Ok(Step::Send(reply.to_vec()))
                        }
                        Err(error) => Ok(Step::Reject { reply, error }),
                    };
                }
                State::AwaitChallenge(a) => {
                    let answer = a.answer(input)?;
                    self.state = State::AnswerSent(a);
                    return Ok(Step::Send(answer));
                }
                State::AnswerSent(a) => {
                    self.state = State::AwaitVerdict(a);
                    return Ok(self.receive());
                }
                State::AwaitVerdict(a) => {
                    a.finish(input)?;
                    self.state = State::Idle;
                }
                State::Over => return Err(AuthError::Over),
            }
        }
    }

    fn receive(&mut self) -> Step {
        self.pending_input = true;
        Step::Receive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs two handshakes against each other in memory; returns both outcomes and
    /// whether a reject reply was asked for.
    fn run_pair(mut a: Handshake, mut b: Handshake) -> (Result<()>, Result<()>, bool) {
        let mut queues: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        let mut waiting = [false, false];
        let mut outcome: [Option<Result<()>>; 2] = [None, None];
        let mut rejected = false;
        for _ in 0..50 {
            for (me, h) in [(0usize, &mut a), (1, &mut b)] {
                if outcome[me].is_some() {
                    continue;
                }
                let input = if waiting[me] {
                    if queues[me].is_empty() {
                        continue;
                    }
                    Some(queues[me].remove(0))
                } else {
                    None
                };
                waiting[me] = false;
                match h.step(input.as_deref()) {
                    Ok(Step::Send(m)) => queues[1 - me].push(m),
                    Ok(Step::Receive) => waiting[me] = true,
                    Ok(Step::Done) => outcome[me] = Some(Ok(())),
                    Ok(Step::Reject { reply, error }) => {
                        assert_eq!(reply, FAILURE);
                        queues[1 - me].push(reply.to_vec());
                        rejected = true;
                        outcome[me] = Some(Err(error));
                    }
                    Err(e) => outcome[me] = Some(Err(e)),
                }
            }
        }
        let [x, y] = outcome;
        (x.expect("a finished"), y.expect("b finished"), rejected)
    }

    #[test]
    fn the_step_machine_authenticates_both_ways_or_rejects() {
        for digest in Digest::ALL {
            let (l, c, rejected) = run_pair(
                Handshake::listener(b"k", digest),
                Handshake::client(b"k", Digest::Sha3_384),
            );
            assert!(l.is_ok() && c.is_ok() && !rejected, "{digest}");
            let (l, c, rejected) = run_pair(
                Handshake::listener(b"k", digest),
                Handshake::client(b"x", digest),
            );
            assert!(rejected, "{digest}");
            assert!(matches!(l, Err(AuthError::Failed(_))), "{digest}");
            assert!(matches!(c, Err(AuthError::Failed(_))), "{digest}");
        }
        let (d, a, _) = run_pair(
            Handshake::deliver(b"", Digest::Legacy),
            Handshake::answer(b""),
        );
        assert!(d.is_ok() && a.is_ok());
    }

    #[test]
    fn the_step_machine_refuses_misuse_and_bad_challenges() {
        let mut h = Handshake::answer(b"k");
        assert!(matches!(h.step(None), Ok(Step::Receive)));
        assert!(matches!(h.step(None), Err(AuthError::Misuse(_))));
        let mut h = Handshake::answer(b"k");
        assert!(matches!(h.step(None), Ok(Step::Receive)));
        assert!(matches!(
            h.step(Some(b"#CHALLENGE#short")),
            Err(AuthError::Failed(_))
        ));
        assert!(matches!(h.step(None), Err(AuthError::Over)));
        let mut h = Handshake::deliver(b"k", Digest::Sha256);
        assert!(matches!(h.step(Some(b"x")), Err(AuthError::Misuse(_))));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let d = ChallengeDeliverer::new(b"hunter2", Digest::Md5);
        let a = ChallengeAnswerer::new(b"hunter2");
        assert!(!format!("{d:?}{a:?}").contains("hunter2"));
        assert!(!format!("{d:?}{a:?}").contains("104, 117"));
    }

    #[test]
    fn every_digest_round_trips_and_wrong_key_fails() {
        for digest in Digest::ALL {
            let d = ChallengeDeliverer::new(b"k", digest);
            let good = ChallengeAnswerer::new(b"k").answer(d.challenge()).unwrap();
            assert_eq!(d.verify(&good).0, WELCOME, "{digest}");
            let bad = ChallengeAnswerer::new(b"x").answer(d.challenge()).unwrap();
            let (reply, outcome) = d.verify(&bad);
            assert_eq!(reply, FAILURE);
            assert!(matches!(outcome, Err(AuthError::Failed(_))));
        }
    }
}
