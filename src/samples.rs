//! Small, realistic camera-like firmware images with a known answer, built
//! in-process (no external tools). `cargo run --example gen-samples`
//! writes them to `samples/`; a test checks the committed files are exactly
//! what this code builds, so the samples can never drift from their answers.

use std::io::Cursor;

use backhand::kind::Kind;
use backhand::{FilesystemCompressor, FilesystemWriter, NodeHeader};

use crate::unpack::formats::{squashfs, uimage};

/// A fixed timestamp (2021-01-01) so that samples are byte-for-byte stable.
pub const EPOCH: u32 = 1_609_459_200;

/// A minimal 32-bit little-endian ARM ELF executable carrying `text` in its
/// only loadable segment, with a non-executable stack marker.
pub fn minimal_elf(text: &[u8]) -> Vec<u8> {
    const EHDR: usize = 52;
    const PHDR: usize = 32;
    let data_off = EHDR + 2 * PHDR;
    let total = data_off + text.len();
    let mut e = Vec::with_capacity(total);
    e.extend_from_slice(b"\x7fELF\x01\x01\x01\x00");
    e.extend_from_slice(&[0; 8]);
    let u16le = |v: u16| v.to_le_bytes();
    let u32le = |v: u32| v.to_le_bytes();
    e.extend_from_slice(&u16le(2)); // ET_EXEC
    e.extend_from_slice(&u16le(40)); // EM_ARM
    e.extend_from_slice(&u32le(1));
    e.extend_from_slice(&u32le(0x8000 + data_off as u32)); // entry
    e.extend_from_slice(&u32le(EHDR as u32)); // phoff
    e.extend_from_slice(&u32le(0)); // shoff
    e.extend_from_slice(&u32le(0x0500_0000)); // EABI5
    e.extend_from_slice(&u16le(EHDR as u16));
    e.extend_from_slice(&u16le(PHDR as u16));
    e.extend_from_slice(&u16le(2));
    e.extend_from_slice(&u16le(40));
    e.extend_from_slice(&u16le(0));
    e.extend_from_slice(&u16le(0));
    // PT_LOAD, R+X, the whole file.
    for v in [1u32, 0, 0x8000, 0x8000, total as u32, total as u32, 5, 0x1000] {
        e.extend_from_slice(&u32le(v));
    }
    // PT_GNU_STACK, R+W only.
    for v in [0x6474_e551u32, 0, 0, 0, 0, 0, 6, 16] {
        e.extend_from_slice(&u32le(v));
    }
    e.extend_from_slice(text);
    e
}

/// A BusyBox-like executable: the version banner and the applet names as
/// BusyBox stores them (one sorted, NUL-separated list), so that the boot
/// model can tell which applets are compiled in.
pub fn fake_busybox(version: &str, applets: &[&str]) -> Vec<u8> {
    let mut names: Vec<&str> = applets.to_vec();
    names.sort_unstable();
    names.dedup();
    let mut text = b"\0BusyBox v".to_vec();
    text.extend_from_slice(version.as_bytes());
    text.extend_from_slice(b" (2021-01-01 00:00:00 CST) multi-call binary.\0\xff");
    for n in names {
        text.extend_from_slice(n.as_bytes());
        text.push(0);
    }
    text.push(0);
    minimal_elf(&text)
}

/// One file to put in a sample filesystem.
pub enum Entry<'a> {
    File { path: &'a str, mode: u16, data: Vec<u8> },
    Dir { path: &'a str, mode: u16 },
    Link { path: &'a str, target: &'a str },
}

/// Build a SquashFS 4 image with the given compressor codec.
pub fn squashfs(entries: &[Entry], codec: &'static squashfs::Codec) -> Vec<u8> {
    let mut w = FilesystemWriter::default();
    w.set_time(EPOCH);
    w.set_kind(Kind::new_v4(codec));
    // The codec statics only write gzip, lzma or xz; all have valid ids.
    if let Ok(c) = FilesystemCompressor::new(codec.writes, None) {
        w.set_compressor(c);
    }
    w.set_root_mode(0o755);
    for e in entries {
        // Sample entries are static and well-formed; a failure here is a
        // bug in the sample definition, caught by the sample tests.
        let r = match e {
            Entry::Dir { path, mode } => w.push_dir_all(path, NodeHeader::new(*mode, 0, 0, EPOCH)),
            Entry::File { path, mode, data } => {
                w.push_file(Cursor::new(data.clone()), path, NodeHeader::new(*mode, 0, 0, EPOCH))
            }
            Entry::Link { path, target } => w.push_symlink(target, path, NodeHeader::new(0o777, 0, 0, EPOCH)),
        };
        if let Err(err) = r {
            panic!("sample entry is invalid: {err}");
        }
    }
    let mut out = Cursor::new(Vec::new());
    if let Err(err) = w.write(&mut out) {
        panic!("writing a sample SquashFS failed: {err}");
    }
    out.into_inner()
}

/// Camera firmware really ships MD5-crypt; the sample must too.
#[allow(deprecated)]
fn md5crypt(password: &str, salt: &str) -> String {
    pwhash::md5_crypt::hash_with(format!("$1${salt}$").as_str(), password).unwrap_or_default()
}

/// A camera root filesystem. `hardened` locks root, comments telnet out,
/// puts a getty login instead of a shell on the serial console and ships a
/// current BusyBox (1.37.0, outside every range of
/// `checks/components/vulnerabilities.toml`); the default image keeps the
/// 1.24.1 that vulnerable cameras ship.
fn camera_rootfs(hardened: bool) -> Vec<Entry<'static>> {
    let busybox = fake_busybox(
        if hardened { "1.37.0" } else { "1.24.1" },
        &[
            "[", "[[", "ash", "cat", "echo", "getty", "init", "kill", "login", "ls", "mount", "ps", "rm", "sh",
            "telnetd",
        ],
    );
    let shadow = if hardened {
        "root:*:18628:0:99999:7:::\nadmin:!:18628:0:99999:7:::\n".to_string()
    } else {
        // root/xmhdipc: a Xiongmai camera default in Mirai's list.
        format!("root:{}:18628:0:99999:7:::\n", md5crypt("xmhdipc", "Zq3xJ8aW"))
    };
    let passwd = if hardened {
        "root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000:admin:/home/admin:/bin/sh\n"
    } else {
        "root:x:0:0:root:/root:/bin/sh\n"
    };
    let rcs = if hardened {
        "#!/bin/sh\nmount -a\n# telnetd -l /bin/sh\n/usr/bin/ipcam &\n"
    } else {
        "#!/bin/sh\nmount -a\ntelnetd &\n/usr/bin/ipcam &\n"
    };
    let inittab = if hardened {
        "::sysinit:/etc/init.d/rcS\nttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"
    } else {
        "::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\n"
    };
    vec![
        Entry::Dir {
            path: "bin",
            mode: 0o755,
        },
        Entry::Dir {
            path: "etc/init.d",
            mode: 0o755,
        },
        Entry::Dir {
            path: "sbin",
            mode: 0o755,
        },
        Entry::Dir {
            path: "usr/bin",
            mode: 0o755,
        },
        Entry::Dir {
            path: "usr/sbin",
            mode: 0o755,
        },
        Entry::File {
            path: "bin/busybox",
            mode: 0o755,
            data: busybox,
        },
        Entry::Link {
            path: "bin/sh",
            target: "busybox",
        },
        Entry::Link {
            path: "sbin/getty",
            target: "../bin/busybox",
        },
        Entry::Link {
            path: "sbin/init",
            target: "../bin/busybox",
        },
        Entry::Link {
            path: "bin/mount",
            target: "busybox",
        },
        Entry::Link {
            path: "usr/sbin/telnetd",
            target: "../../bin/busybox",
        },
        Entry::File {
            path: "etc/passwd",
            mode: 0o644,
            data: passwd.as_bytes().to_vec(),
        },
        Entry::File {
            path: "etc/shadow",
            mode: 0o600,
            data: shadow.into_bytes(),
        },
        Entry::File {
            path: "etc/inittab",
            mode: 0o644,
            data: inittab.as_bytes().to_vec(),
        },
        Entry::File {
            path: "etc/init.d/rcS",
            mode: 0o755,
            data: rcs.as_bytes().to_vec(),
        },
        Entry::File {
            path: "usr/bin/ipcam",
            mode: 0o755,
            data: minimal_elf(b"\0ipcam rtsp server 1.0\0rtsp://%s:554/stream\0"),
        },
    ]
}

/// The bytes of the bundled sample called `name`, if there is one.
pub fn named(name: &str) -> Option<Vec<u8>> {
    all()
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, bytes, _)| bytes)
}

/// Every bundled sample: (file name, bytes, what a correct scan says).
pub fn all() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let rootfs = squashfs(&camera_rootfs(false), &squashfs::LZMA_CODEC);
    let hardened = squashfs(&camera_rootfs(true), &squashfs::XZ_CODEC);
    vec![
        (
            "camera-default-root.bin",
            uimage::build("ipcam-rootfs", 7, 0, EPOCH, &rootfs),
            "FAIL: root has the Mirai default password xmhdipc (FW-CRED-002), MD5-crypt (FW-CRED-004); rcS starts telnetd (FW-SVC-001); askfirst shell on ttyS0 (FW-DEBUG-001)",
        ),
        (
            "camera-hardened.bin",
            uimage::build("ipcam-rootfs", 7, 0, EPOCH, &hardened),
            "not FAIL: accounts locked, telnet commented out, getty login on ttyS0 (FW-DEBUG-002, info); clauses stay INCONCLUSIVE where firmware alone cannot decide",
        ),
    ]
}
