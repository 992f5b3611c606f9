//! Reading an image file into memory, and hashing it while it is read.

use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use super::Bytes;

/// Read an image file into memory with one allocation and no copy.
///
/// `std::fs::read` sizes its buffer from the file's length, and turning the
/// `Vec` into [`Bytes`] keeps that buffer: the image is held once, and
/// everything cut from it (carved ranges, files stored uncompressed in a
/// tar, cpio or romfs) shares it.
///
/// The file is not memory-mapped: another process truncating a mapped file
/// makes the next access to a lost page raise SIGBUS, which ends the scan
/// without a report, and no safe code can catch it. Reading costs one copy
/// out of the page cache (0.14–0.2 s for 217 MB) and the same peak RSS as a
/// mapping whose pages are all touched (see `docs/benchmarks.md`).
pub fn read_image(path: &Path) -> io::Result<Bytes> {
    std::fs::read(path).map(Bytes::from)
}

/// An image file's bytes with their SHA-256, which was computed while the
/// file was read (see [`read_image_hashed`]): the hash can only come from
/// the same bytes.
#[derive(Debug, Clone)]
pub struct ReadImage {
    bytes: Bytes,
    sha256: String,
}

impl ReadImage {
    /// The image's bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The SHA-256 of [`ReadImage::bytes`], spelled as
    /// [`crate::hash::sha256_hex`] spells it.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// How much of the file is read before the piece is handed to the hashing
/// thread: small enough that the hash ends soon after the read does.
const HASH_PIECE: usize = 256 << 10;

/// [`read_image`], with the image's SHA-256 computed on a second thread
/// piece by piece as the file is read.
///
/// Every report names its image by this hash. Computed afterwards, it took
/// about 2.7 ms of a router image's 0.13 s scan (4 MB), in the middle of
/// work that keeps both cores busy; reading the file keeps only one busy,
/// and the other hashes what has been read meanwhile.
///
/// The buffer is sized from the file's length, as `std::fs::read` sizes
/// it; a file that turns out shorter is cut where it ended, and one that
/// turns out longer (or whose length is unknown, such as a pipe) is read to
/// its end and hashed after the rest.
pub fn read_image_hashed(path: &Path) -> io::Result<ReadImage> {
    let mut file = std::fs::File::open(path)?;
    let expected = file
        .metadata()
        .ok()
        .and_then(|m| usize::try_from(m.len()).ok())
        .unwrap_or(0);
    // An allocation that cannot be had is an error, as with
    // `std::fs::read`, not an abort: asked for first without zeroing.
    Vec::<u8>::new()
        .try_reserve_exact(expected)
        .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
    let mut data = vec![0u8; expected];
    let (filled, mut hasher) = std::thread::scope(|s| -> io::Result<(usize, Sha256)> {
        let (pieces, to_hash) = mpsc::channel::<&[u8]>();
        let hashing = s.spawn(move || {
            let mut h = Sha256::new();
            for piece in to_hash {
                h.update(piece);
            }
            h
        });
        let mut filled = 0;
        for piece in data.chunks_mut(HASH_PIECE) {
            let n = read_full(&mut file, piece)?;
            let piece: &[u8] = piece;
            // The hashing thread ends only when the sender is dropped, so a
            // send cannot fail.
            let _ = pieces.send(&piece[..n]);
            filled += n;
            if n < piece.len() {
                break;
            }
        }
        drop(pieces);
        let hasher = hashing
            .join()
            .map_err(|_| io::Error::other("hashing the image failed"))?;
        Ok((filled, hasher))
    })?;
    data.truncate(filled);
    if filled == expected {
        let rest_from = data.len();
        file.read_to_end(&mut data)?;
        hasher.update(&data[rest_from..]);
    }
    Ok(ReadImage {
        bytes: Bytes::from(data),
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Read into all of `buf` unless the file ends first; the bytes read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256_hex;

    #[test]
    fn bytes_from_a_vec_and_the_image_file_are_not_copied() {
        for mut v in [vec![7u8; 1000], Vec::with_capacity(4096)] {
            v.resize(1000, 7);
            let at = v.as_ptr();
            let b = Bytes::from(v);
            assert_eq!(b.as_ptr(), at);
            assert_eq!(b.slice(10..20).as_ptr(), at.wrapping_add(10));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img.bin");
        std::fs::write(&path, b"hsqs and more").unwrap();
        assert_eq!(read_image(&path).unwrap(), &b"hsqs and more"[..]);
        assert!(read_image(&dir.path().join("missing")).is_err());
    }

    /// Sizes around the piece size and its multiples, empty, and one byte:
    /// the bytes are the file's and the hash is theirs.
    #[test]
    fn a_hashed_read_gives_the_files_bytes_and_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img.bin");
        let mut rng = crate::testing::Xorshift::new(0x4ead);
        for len in [0, 1, HASH_PIECE - 1, HASH_PIECE, HASH_PIECE + 1, 3 * HASH_PIECE + 17] {
            let content: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            std::fs::write(&path, &content).unwrap();
            let read = read_image_hashed(&path).unwrap();
            assert_eq!(read.bytes().as_ref(), &content[..], "{len} bytes");
            assert_eq!(read.sha256(), sha256_hex(&content), "{len} bytes");
        }
        assert!(read_image_hashed(&dir.path().join("missing")).is_err());
    }

    /// A file longer than its length said (here, a pipe's length is 0) is
    /// read and hashed to its end.
    #[cfg(unix)]
    #[test]
    fn a_file_without_a_length_is_read_and_hashed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here
        }
        let content: Vec<u8> = (0..3 * HASH_PIECE + 5).map(|i| (i % 251) as u8).collect();
        let writer = {
            let (fifo, content) = (fifo.clone(), content.clone());
            std::thread::spawn(move || std::fs::write(fifo, content).unwrap())
        };
        let read = read_image_hashed(&fifo).unwrap();
        writer.join().unwrap();
        assert_eq!(read.bytes().len(), content.len());
        assert_eq!(read.bytes().as_ref(), &content[..]);
        assert_eq!(read.sha256(), sha256_hex(&content));
    }
}
