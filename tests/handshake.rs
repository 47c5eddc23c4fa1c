//! The digest challenge against bytes recorded from CPython 3.11, 3.13, 3.14 and 3.15
//! (fixtures/handshake/, written by python_interop/record_handshake.py).
mod common;

use mpconn::wire::handshake::{
    create_response, split_digest, verify_response, ChallengeAnswerer, ChallengeDeliverer, Digest,
    CHALLENGE, FAILURE, WELCOME,
};
use mpconn::Error;
use proptest::prelude::*;

fn challenged_digest(version: &str, name: &str) -> Digest {
    match name {
        // deliver_challenge's default: legacy on 3.11, sha256 since 3.12.
        "default" if version == "3.11" => Digest::Legacy,
        "default" => Digest::Sha256,
        other => other.parse().unwrap(),
    }
}

#[test]
fn our_answers_equal_cpythons_answers() {
    let mut checked = 0;
    for (version, cases) in common::load("handshake") {
        for case in cases.iter().filter(|c| c["kind"] == "answer") {
            let key = common::hex(&case["key"]);
            let challenge = common::hex(&case["challenge"]);
            let ours = ChallengeAnswerer::new(&key).answer(&challenge);
            let what = format!("python {version}, challenge {}", case["digest"]);
            if version == "3.11" && case["digest"] != "legacy" && case["outcome"] == "ok" {
                // Python 3.11 answers every challenge with a raw HMAC-MD5 of the whole
                // message; a modern peer (and our verifier) accepts that. Check both.
                let message = &challenge[CHALLENGE.len()..];
                let response = common::hex(&case["response"]);
                assert_eq!(response, Digest::Md5.mac(&key, message), "{what}");
                assert_eq!(
                    verify_response(&key, message, &response).unwrap(),
                    Digest::Legacy,
                    "{what}"
                );
            } else if case["outcome"] == "ok" {
                assert_eq!(ours.unwrap(), common::hex(&case["response"]), "{what}");
            } else {
                let ours = ours.map_err(Error::from);
                assert!(matches!(ours, Err(Error::Authentication(_))), "{what}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 4 * 12, "only {checked} cases");
}

#[test]
fn our_challenges_equal_cpythons_challenges() {
    for (version, cases) in common::load("handshake") {
        for case in cases.iter().filter(|c| c["kind"] == "deliver") {
            let digest = challenged_digest(&version, &case["digest"]);
            let key = common::hex(&case["key"]);
            let d = ChallengeDeliverer::with_random(
                &key,
                digest,
                &common::fixed_random(digest.random_len()),
            );
            assert_eq!(
                d.challenge(),
                common::hex(&case["challenge"]),
                "python {version} {digest}"
            );
        }
    }
}

#[test]
fn our_verdicts_equal_cpythons_verdicts() {
    let mut checked = 0;
    for (version, cases) in common::load("handshake") {
        for case in cases.iter().filter(|c| c["kind"] == "deliver") {
            let digest = challenged_digest(&version, &case["digest"]);
            let key = common::hex(&case["key"]);
            let d = ChallengeDeliverer::with_random(
                &key,
                digest,
                &common::fixed_random(digest.random_len()),
            );
            let (reply, outcome) = d.verify(&common::hex(&case["response"]));
            let what = format!("python {version} {digest}: {}", case["note"]);
            assert_eq!(reply, common::hex(&case["reply"]), "{what}");
            if case["outcome"] == "ok" {
                assert_eq!(reply, WELCOME, "{what}");
                assert!(outcome.is_ok(), "{what}: {outcome:?}");
            } else {
                assert_eq!(reply, FAILURE, "{what}");
                let outcome = outcome.map_err(Error::from);
                assert!(matches!(outcome, Err(Error::Authentication(_))), "{what}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 4 * 4, "only {checked} cases");
}

#[test]
fn cpython_accepts_any_allowed_digest_and_so_do_we() {
    // Recorded on 3.13+: a {sha256} challenge accepts bare md5 and every prefixed digest.
    let (_, cases) = common::load("handshake")
        .into_iter()
        .find(|(v, _)| v == "3.13")
        .expect("3.13 fixtures");
    let notes: Vec<_> = cases
        .iter()
        .filter(|c| c["kind"] == "deliver" && c["outcome"] == "ok")
        .map(|c| c["note"].clone())
        .collect();
    for expected in ["bare md5", "{md5}", "{sha384}", "{sha3_256}", "{sha3_384}"] {
        assert!(notes.iter().any(|n| n == expected), "missing {expected}");
    }
}

#[test]
fn split_digest_follows_cpython() {
    assert_eq!(split_digest(&[0; 16]).unwrap().0, Digest::Legacy);
    assert_eq!(split_digest(&[0; 20]).unwrap().0, Digest::Legacy);
    assert_eq!(
        split_digest(b"{sha3_384}abc").unwrap(),
        (Digest::Sha3_384, &b"abc"[..])
    );
    assert!(split_digest(b"{sha1}0123456789abcdefghij").is_err());
    assert!(split_digest(b"no prefix at all, 27 bytes..").is_err());
    assert!(split_digest(b"{}").is_err());
    assert!(split_digest(b"{").is_err());
    // The closing brace must come within the first ten bytes.
    assert!(split_digest(b"{sha256 }xxxxxxxxxxxxxxxxxxxx").is_err());
}

#[test]
fn empty_key_authenticates_and_wrong_key_fails_on_both_sides() {
    for digest in Digest::ALL {
        let d = ChallengeDeliverer::new(b"", digest);
        let a = ChallengeAnswerer::new(b"");
        let (reply, outcome) = d.verify(&a.answer(d.challenge()).unwrap());
        assert!(outcome.is_ok());
        a.finish(reply).unwrap();

        let wrong = ChallengeAnswerer::new(b"other");
        let (reply, outcome) = d.verify(&wrong.answer(d.challenge()).unwrap());
        assert!(matches!(
            outcome.map_err(Error::from),
            Err(Error::Authentication(_))
        ));
        assert!(matches!(
            wrong.finish(reply).map_err(Error::from),
            Err(Error::Authentication(_))
        ));
    }
}

#[test]
fn the_key_never_appears_in_errors_or_debug() {
    let key = b"very-secret-key";
    let d = ChallengeDeliverer::new(key, Digest::Sha256);
    let bad = ChallengeAnswerer::new(b"nope")
        .answer(d.challenge())
        .unwrap();
    let (_, outcome) = d.verify(&bad);
    let text = format!("{d:?} {:?} {}", outcome, outcome.as_ref().unwrap_err());
    assert!(!text.contains("very-secret-key"), "{text}");
    let opts = mpconn::ListenerOptions::new().authkey(key);
    let copts = mpconn::ClientOptions::new().authkey(key);
    let text = format!("{opts:?} {copts:?}");
    assert!(
        !text.contains("very") && !text.contains("118, 101"),
        "{text}"
    );
}

proptest! {
    #[test]
    fn random_bytes_never_panic_the_handshake(
        challenge in proptest::collection::vec(any::<u8>(), 0..300),
        response in proptest::collection::vec(any::<u8>(), 0..300),
        key in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let _ = split_digest(&challenge);
        let _ = create_response(&key, &challenge);
        let _ = verify_response(&key, &challenge, &response);
        let a = ChallengeAnswerer::new(&key);
        let _ = a.answer(&challenge);
        let mut prefixed = CHALLENGE.to_vec();
        prefixed.extend_from_slice(&challenge);
        let _ = a.answer(&prefixed);
        let _ = a.finish(&response);
        for digest in Digest::ALL {
            let d = ChallengeDeliverer::new(&key, digest);
            let (_, outcome) = d.verify(&response);
            prop_assert!(outcome.is_err() || response.len() >= 16);
        }
    }
}
