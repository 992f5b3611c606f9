//! Try candidate passwords against stored hashes: one verifier per hash
//! format, run in parallel over all hashes under one shared deadline.
//!
//! Algorithms come from maintained crates (pwhash for crypt(3), md-5, sha1,
//! sha2, pbkdf2); only the framing of APR1, `{SHA}`, `{SSHA}` and the
//! mosquitto formats is ours. APR1 is MD5-crypt with the magic `$apr1$`
//! instead of `$1$` (pwhash hard-codes `$1$`), so MD5-crypt is implemented
//! here over md-5 from its specification and cross-checked against pwhash.
//!
//! Determinism: a job's answer is the lowest-indexed candidate that
//! matches. Work is split into chunks that threads take in order; when the
//! deadline passes, a job that found nothing and did not test every
//! candidate is `OutOfTime`, which callers report as a coverage gap.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha512};

use crate::inventory::hashes::HashKind;

/// One hash and the candidates to try against it, most likely first.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub hash: &'a str,
    pub kind: HashKind,
    pub candidates: Vec<&'a str>,
}

/// What happened to one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `candidates[i]` is the password.
    Cracked(usize),
    /// Every candidate was tried; none matched.
    Exhausted,
    /// The deadline passed before every candidate was tried.
    OutOfTime,
    /// fwcert cannot test this format (or these parameters) at all.
    Unsupported(&'static str),
}

/// Parameters above these would make a single test outlast any sane
/// budget; such hashes are reported as untested rather than blocking.
const MAX_BCRYPT_COST: u32 = 16;
const MAX_ROUNDS: u64 = 5_000_000;

/// Why `hash` cannot be tested, if it cannot.
pub fn unsupported(kind: HashKind, hash: &str) -> Option<&'static str> {
    match kind {
        HashKind::Yescrypt => Some("yescrypt is identified but not cracked by fwcert"),
        HashKind::Unknown => Some("the hash format is not recognised"),
        HashKind::Bcrypt => {
            let cost: u32 = hash.get(4..6).and_then(|c| c.parse().ok()).unwrap_or(99);
            (cost > MAX_BCRYPT_COST).then_some("bcrypt cost too high to test within the budget")
        }
        HashKind::Sha256Crypt | HashKind::Sha512Crypt => {
            let rounds = hash
                .get(3..)
                .and_then(|r| r.strip_prefix("rounds="))
                .and_then(|r| r.split('$').next())
                .and_then(|r| r.parse::<u64>().ok())
                .unwrap_or(5000);
            (rounds > MAX_ROUNDS).then_some("SHA-crypt rounds too high to test within the budget")
        }
        HashKind::MosquittoPbkdf2 => {
            let it = mosquitto_iterations(hash).unwrap_or(u64::MAX);
            (it > MAX_ROUNDS).then_some("PBKDF2 iterations too high to test within the budget")
        }
        _ => None,
    }
}

fn mosquitto_iterations(hash: &str) -> Option<u64> {
    hash.strip_prefix("$7$")?.split('$').next()?.parse().ok()
}

/// Whether `password` is the one behind `hash` of kind `kind`.
pub fn verify(kind: HashKind, hash: &str, password: &str) -> bool {
    match kind {
        HashKind::Des | HashKind::Md5Crypt | HashKind::Sha256Crypt | HashKind::Sha512Crypt => {
            pwhash::unix::verify(password, hash)
        }
        HashKind::Bcrypt => {
            // `$2x$` marks hashes from the pre-2011 bug that only differs
            // for 8-bit passwords; for ASCII candidates it equals `$2a$`.
            if let Some(rest) = hash.strip_prefix("$2x$") {
                password.is_ascii() && pwhash::unix::verify(password, &format!("$2a${rest}"))
            } else {
                pwhash::unix::verify(password, hash)
            }
        }
        HashKind::Apr1 => {
            let Some(rest) = hash.strip_prefix("$apr1$") else {
                return false;
            };
            let Some((salt, _)) = rest.split_once('$') else {
                return false;
            };
            md5_crypt(password.as_bytes(), "$apr1$", salt) == hash
        }
        HashKind::LdapSha => {
            let Some(b64) = hash.strip_prefix("{SHA}") else {
                return false;
            };
            STANDARD
                .decode(b64)
                .is_ok_and(|d| d[..] == Sha1::digest(password.as_bytes())[..])
        }
        HashKind::LdapSsha => {
            let Some(Ok(d)) = hash.strip_prefix("{SSHA}").map(|b| STANDARD.decode(b)) else {
                return false;
            };
            if d.len() <= 20 {
                return false;
            }
            let (digest, salt) = d.split_at(20);
            let mut h = Sha1::new();
            h.update(password.as_bytes());
            h.update(salt);
            h.finalize()[..] == *digest
        }
        HashKind::MosquittoSha512 => {
            let Some((salt, digest)) = mosquitto_parts(hash.strip_prefix("$6$")) else {
                return false;
            };
            let mut h = Sha512::new();
            h.update(password.as_bytes());
            h.update(&salt);
            h.finalize()[..] == digest[..]
        }
        HashKind::MosquittoPbkdf2 => {
            let Some(it) = mosquitto_iterations(hash).and_then(|i| u32::try_from(i).ok()) else {
                return false;
            };
            let rest = hash.strip_prefix("$7$").and_then(|r| r.split_once('$')).map(|(_, r)| r);
            let Some((salt, digest)) = mosquitto_parts(rest) else {
                return false;
            };
            let mut out = [0u8; 64];
            pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), &salt, it.max(1), &mut out);
            out[..] == digest[..]
        }
        HashKind::Plaintext => password == hash,
        HashKind::Yescrypt | HashKind::Unknown => false,
    }
}

fn mosquitto_parts(rest: Option<&str>) -> Option<(Vec<u8>, Vec<u8>)> {
    let (salt, digest) = rest?.split_once('$')?;
    Some((STANDARD.decode(salt).ok()?, STANDARD.decode(digest).ok()?))
}

const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// MD5-crypt (Poul-Henning Kamp, FreeBSD 1994) with a chosen magic: `$1$`
/// for crypt(3), `$apr1$` for Apache. Returns the full hash string.
pub fn md5_crypt(pw: &[u8], magic: &str, salt: &str) -> String {
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let alt = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut ctx = Md5::new();
    ctx.update(pw);
    ctx.update(magic.as_bytes());
    ctx.update(salt);
    let mut left = pw.len();
    while left > 0 {
        ctx.update(&alt[..left.min(16)]);
        left = left.saturating_sub(16);
    }
    let mut i = pw.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for r in 0..1000 {
        let mut c = Md5::new();
        if r & 1 == 1 {
            c.update(pw);
        } else {
            c.update(fin);
        }
        if r % 3 != 0 {
            c.update(salt);
        }
        if r % 7 != 0 {
            c.update(pw);
        }
        if r & 1 == 1 {
            c.update(fin);
        } else {
            c.update(pw);
        }
        fin = c.finalize();
    }
    let mut out = String::with_capacity(magic.len() + salt.len() + 23);
    out.push_str(magic);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let mut to64 = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(ITOA64[(v & 0x3f) as usize] as char);
            v >>= 6;
        }
    };
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64(((fin[a] as u32) << 16) | ((fin[b] as u32) << 8) | fin[c] as u32, 4);
    }
    to64(fin[11] as u32, 2);
    out
}

/// Candidates per unit of work.
const CHUNK: usize = 8;

/// Run every job against its candidates with `threads` workers until done
/// or until `deadline`. Outcomes are in job order.
pub fn run(jobs: &[Job], deadline: Instant, threads: usize) -> Vec<Outcome> {
    let mut units: Vec<(usize, usize, usize)> = Vec::new();
    let mut fixed: Vec<Option<Outcome>> = Vec::with_capacity(jobs.len());
    for (j, job) in jobs.iter().enumerate() {
        if let Some(why) = unsupported(job.kind, job.hash) {
            fixed.push(Some(Outcome::Unsupported(why)));
            continue;
        }
        if job.candidates.is_empty() {
            fixed.push(Some(Outcome::Exhausted));
            continue;
        }
        fixed.push(None);
        for start in (0..job.candidates.len()).step_by(CHUNK) {
            units.push((j, start, (start + CHUNK).min(job.candidates.len())));
        }
    }
    let best: Vec<AtomicUsize> = jobs.iter().map(|_| AtomicUsize::new(usize::MAX)).collect();
    let incomplete: Vec<AtomicBool> = jobs.iter().map(|_| AtomicBool::new(false)).collect();
    let next = AtomicUsize::new(0);
    let worker = || {
        loop {
            let u = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(j, start, end)) = units.get(u) else {
                break;
            };
            let job = &jobs[j];
            for i in start..end {
                if i >= best[j].load(Ordering::Relaxed) {
                    break; // a lower-indexed candidate already matched
                }
                if Instant::now() >= deadline {
                    incomplete[j].store(true, Ordering::Relaxed);
                    break;
                }
                if verify(job.kind, job.hash, job.candidates[i]) {
                    best[j].fetch_min(i, Ordering::Relaxed);
                    break;
                }
            }
        }
    };
    let threads = threads.clamp(1, units.len().max(1));
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(worker);
        }
        worker();
    });
    fixed
        .into_iter()
        .enumerate()
        .map(|(j, f)| {
            f.unwrap_or_else(|| match best[j].load(Ordering::Relaxed) {
                usize::MAX if incomplete[j].load(Ordering::Relaxed) => Outcome::OutOfTime,
                usize::MAX => Outcome::Exhausted,
                i => Outcome::Cracked(i),
            })
        })
        .collect()
}

/// Worker threads to use: as many as the current rayon pool has (every
/// core, unless `--jobs` or `RAYON_NUM_THREADS` says otherwise).
pub fn default_threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn md5_crypt_matches_pwhash_and_openssl_apr1() {
        for pw in ["", "a", "secret", "a-longer-password-than-sixteen-bytes"] {
            let ours = md5_crypt(pw.as_bytes(), "$1$", "fwcert12");
            assert!(pwhash::unix::verify(pw, &ours), "{pw}: {ours}");
        }
        // `openssl passwd -apr1 -salt fwcert12 <pw>`
        assert_eq!(
            md5_crypt(b"secret", "$apr1$", "fwcert12"),
            "$apr1$fwcert12$6QiGhJX6fZYZj8yf.LCQp0"
        );
        assert_eq!(
            md5_crypt(b"dragon", "$apr1$", "fwcert12"),
            "$apr1$fwcert12$dsBEafwEEYOQy80cLNmZ81"
        );
        assert!(verify(
            HashKind::Apr1,
            "$apr1$nMebU24m$ofpVAehRJU5Jq8KUcsVYj1",
            "dragon"
        ));
        assert!(!verify(
            HashKind::Apr1,
            "$apr1$nMebU24m$ofpVAehRJU5Jq8KUcsVYj1",
            "dragon2"
        ));
    }

    #[test]
    fn simple_digests() {
        assert!(verify(HashKind::LdapSha, "{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=", "admin"));
        let ms = "$6$AQIDBAUG$LJOy7+x1cwKlJ74yCwBak1Vn83DyaKE5NvpC7zMcxwNux1pl+BEs5RH/YIjJKm/hOE+9D3CpvHrEGqYQM4SqjA==";
        assert!(verify(HashKind::MosquittoSha512, ms, "123456"));
        assert!(!verify(HashKind::MosquittoSha512, ms, "1234567"));
        // {SSHA} of "admin" with salt "salt": base64(sha1("adminsalt") || "salt").
        let mut d = Sha1::digest(b"adminsalt").to_vec();
        d.extend_from_slice(b"salt");
        let ssha = format!("{{SSHA}}{}", STANDARD.encode(&d));
        assert!(verify(HashKind::LdapSsha, &ssha, "admin"));
        // PBKDF2: mosquitto $7$ with 101 iterations.
        let mut out = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha512>(b"pw1", b"saltsalt", 101, &mut out);
        let h = format!("$7$101${}${}", STANDARD.encode(b"saltsalt"), STANDARD.encode(out));
        assert_eq!(HashKind::of(&h), HashKind::MosquittoPbkdf2);
        assert!(verify(HashKind::MosquittoPbkdf2, &h, "pw1"));
    }

    #[test]
    fn run_is_deterministic_and_honours_the_deadline() {
        let des = "absxcfbgXtb3o"; // xc3511
        let cands = vec!["a", "b", "c", "d", "e", "f", "g", "h", "i", "xc3511", "k"];
        let jobs = vec![
            Job {
                hash: des,
                kind: HashKind::Des,
                candidates: cands.clone(),
            },
            Job {
                hash: "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
                kind: HashKind::Yescrypt,
                candidates: cands.clone(),
            },
            Job {
                hash: des,
                kind: HashKind::Des,
                candidates: vec!["nope"],
            },
        ];
        let far = Instant::now() + Duration::from_secs(60);
        for threads in [1, 2, 4] {
            let out = run(&jobs, far, threads);
            assert_eq!(out[0], Outcome::Cracked(9));
            assert!(matches!(out[1], Outcome::Unsupported(_)));
            assert_eq!(out[2], Outcome::Exhausted);
        }
        let past = Instant::now();
        let out = run(&jobs, past, 2);
        assert_eq!(out[0], Outcome::OutOfTime);
    }
}
