//! Cracking throughput, in hashes × candidate words per second, for every
//! format fwcert cracks, and a check that the time budget is honoured.
//!
//! Run with `cargo bench --bench crack` (release profile). Each hash is one
//! the dictionary cannot crack, so every word is tried; the thread count is
//! what `fwcert scan` uses. The budget part gives slow hashes far more work
//! than the budget allows and fails (exit code 101) if `crack::run` returns
//! later than the budget plus one verification.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fwcert::Rules;
use fwcert::checks::crack::{self, Job, Outcome};
use fwcert::inventory::hashes::HashKind;
use sha1::{Digest, Sha1};
use sha2::Sha512;

fn main() {
    let rules = Rules::embedded().expect("the embedded rule set loads");
    let words: Vec<&str> = rules
        .checks
        .dictionary
        .candidates_for("")
        .iter()
        .map(|c| c.password)
        .collect();
    let threads = crack::default_threads();
    let secret = b"fwcert-bench-not-in-the-dictionary";
    let salt = b"fwbench!";
    let mosquitto = {
        let mut h = Sha512::new();
        h.update(secret);
        h.update(salt);
        format!("$6${}${}", STANDARD.encode(salt), STANDARD.encode(h.finalize()))
    };
    let pbkdf2 = {
        let mut out = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha512>(secret, salt, 101, &mut out);
        format!("$7$101${}${}", STANDARD.encode(salt), STANDARD.encode(out))
    };
    // Valid hashes of passwords outside the dictionary (a changed last
    // checksum character for the crypt formats costs the same to test).
    let formats: Vec<(HashKind, String, usize)> = vec![
        (HashKind::Des, "absxcfbgXtb3p".into(), 64),
        (HashKind::Md5Crypt, "$1$GTN.gpri$DlSyKvZKMR9A9Uj9e9wR3.".into(), 8),
        (HashKind::Apr1, "$apr1$nMebU24m$ofpVAehRJU5Jq8KUcsVYj2".into(), 8),
        (
            HashKind::Sha256Crypt,
            "$5$fwcert256$J8.5blzfZwfiAuLuN6aNB1tduYS.6ihhxtlGppkIdE1".into(),
            4,
        ),
        (
            HashKind::Sha512Crypt,
            "$6$fwcertsalt$sNkhfZuLF3Lbp7Y5x2Nt1/c8IiUy4VPJJqUcJ7SplO4eI0q8re.jnNJ9WkLYsoZm/XriyX03pXCccvkQad9Xe."
                .into(),
            4,
        ),
        (
            HashKind::Bcrypt,
            "$2y$05$Eoj2qF43EErrJix4Gtmuq..0FA8AFdqUUmjEqlWsUFzda8.n6OFgX".into(),
            2,
        ),
        (
            HashKind::LdapSha,
            format!("{{SHA}}{}", STANDARD.encode(Sha1::digest(secret))),
            256,
        ),
        (HashKind::MosquittoSha512, mosquitto, 256),
        (HashKind::MosquittoPbkdf2, pbkdf2, 16),
    ];
    println!("dictionary: {} words, {threads} thread(s)", words.len());
    println!(
        "{:<26} {:>7} {:>10} {:>16}",
        "format", "hashes", "seconds", "hash×words/s"
    );
    for (kind, hash, n) in &formats {
        assert_eq!(HashKind::of(hash), *kind, "{hash}");
        let jobs: Vec<Job> = (0..*n)
            .map(|_| Job {
                hash,
                kind: *kind,
                candidates: words.clone(),
            })
            .collect();
        let start = Instant::now();
        let out = crack::run(&jobs, start + Duration::from_secs(600), threads);
        let secs = start.elapsed().as_secs_f64();
        assert!(out.iter().all(|o| *o == Outcome::Exhausted), "{kind:?}: {out:?}");
        println!(
            "{:<26} {:>7} {:>10.3} {:>16.0}",
            kind.label(),
            n,
            secs,
            (*n * words.len()) as f64 / secs
        );
    }

    // The budget: 64 SHA-512-crypt hashes at 50 000 rounds would take many
    // seconds; give them 300 ms.
    let slow = "$6$rounds=50000$fwbench$Xe3n0hYl4lC9QxO0m4B1Qm7F6cJ0yT0P3a2h2h7bQ8dYk5U2lH0s1dQ2oG3o0Ff8b4uU2n9r9y3sVx5r0w1kz.";
    assert_eq!(HashKind::of(slow), HashKind::Sha512Crypt);
    let one = {
        let t = Instant::now();
        crack::verify(HashKind::Sha512Crypt, slow, "x");
        t.elapsed()
    };
    let budget = Duration::from_millis(300);
    let jobs: Vec<Job> = (0..64)
        .map(|_| Job {
            hash: slow,
            kind: HashKind::Sha512Crypt,
            candidates: words.clone(),
        })
        .collect();
    let start = Instant::now();
    let out = crack::run(&jobs, start + budget, threads);
    let took = start.elapsed();
    let late = out.iter().filter(|o| **o == Outcome::OutOfTime).count();
    println!(
        "budget {budget:?}: returned after {took:?} (one verification {one:?}); {late}/64 hashes reported out of time"
    );
    assert!(took <= budget + one + Duration::from_millis(50), "budget overrun");
    assert!(late > 0, "the budget was meant to run out");
}
