//! Any bytes into both roles of the digest challenge: never a panic; the deliverer's
//! reply always matches its verdict; whatever challenge the answerer accepts, its
//! answer verifies against that challenge; `finish` accepts only `#WELCOME#`.
//!
//! Input layout: byte 0 picks the digest, byte 1 the key length (0-31), then the key,
//! then the peer's message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mpconn::wire::handshake::{
    split_digest, verify_response, ChallengeAnswerer, ChallengeDeliverer, Digest, CHALLENGE,
    FAILURE, WELCOME,
};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let digest = Digest::ALL[usize::from(data[0]) % Digest::ALL.len()];
    let key_len = usize::from(data[1] % 32).min(data.len() - 2);
    let key = &data[2..2 + key_len];
    let peer = &data[2 + key_len..];

    // Deliverer role: the peer's bytes are the answer.
    let random: Vec<u8> = (0..digest.random_len()).map(|i| (i * 7) as u8).collect();
    let deliverer = ChallengeDeliverer::with_random(key, digest, &random);
    let (reply, outcome) = deliverer.verify(peer);
    match &outcome {
        Ok(_) => assert_eq!(reply, WELCOME),
        Err(e) => {
            assert_eq!(reply, FAILURE);
            assert!(matches!(e, mpconn::wire::AuthError::Failed(_)), "{e:?}");
        }
    }
    // The right answer to our own challenge always verifies.
    let answerer = ChallengeAnswerer::new(key);
    let good = answerer
        .answer(deliverer.challenge())
        .expect("our own challenge");
    assert_eq!(deliverer.verify(&good).0, WELCOME);

    // Answerer role: the peer's bytes are the challenge.
    if let Ok(answer) = answerer.answer(peer) {
        let message = &peer[CHALLENGE.len()..];
        let (challenge_digest, _) = split_digest(message).expect("answer() accepted it");
        let answered = verify_response(key, message, &answer).expect("our answer verifies");
        assert_eq!(answered, challenge_digest);
    }
    assert_eq!(answerer.finish(peer).is_ok(), peer == WELCOME);
});
