//! The format table: one row per container or filesystem format, and one
//! file per format in this folder.
//!
//! A format file implements the contract in [`format`](super::format)
//! (`parse` and `extract`) and exports its [`Format`] row(s); adding a
//! format means adding its file here and its row to [`FORMATS`].

use super::format::Format;

pub mod android_boot;
pub mod android_sparse;
pub mod arcadyan;
pub mod bzip2;
pub mod cpio;
pub mod cramfs;
pub mod ext;
pub mod fat;
pub mod fit;
pub mod gzip;
pub mod hikvision;
pub mod jffs2;
pub mod kernel;
pub mod lz4;
pub mod lzma;
pub mod lzop;
pub mod realtek_mib;
pub mod romfs;
pub mod sevenz;
pub mod squashfs;
pub mod squashfs_legacy;
pub mod tar;
pub mod tplink;
pub mod trx;
pub mod ubi;
pub mod ubifs;
pub mod uimage;
pub mod unsupported;
pub mod verity;
pub mod xz;
pub mod yaffs2;
pub mod zip;
pub mod zstd;

/// Every format fwcert recognises, in priority order: where two hits start
/// at the same offset, the earlier row wins.
pub static FORMATS: &[Format] = &[
    tplink::FORMAT,
    uimage::FORMAT,
    trx::FORMAT,
    fit::FORMAT,
    kernel::FORMAT_BZIMAGE,
    kernel::FORMAT_ZIMAGE,
    android_sparse::FORMAT,
    android_boot::FORMAT,
    squashfs::FORMAT_LE,
    squashfs::FORMAT_BE,
    jffs2::FORMAT,
    ubi::FORMAT,
    ubifs::FORMAT,
    cramfs::FORMAT,
    romfs::FORMAT,
    yaffs2::FORMAT,
    ext::FORMAT,
    fat::FORMAT,
    xz::FORMAT,
    gzip::FORMAT,
    lzma::FORMAT,
    bzip2::FORMAT,
    zstd::FORMAT,
    lz4::FORMAT,
    lz4::FORMAT_LEGACY,
    lzop::FORMAT,
    cpio::FORMAT,
    cpio::FORMAT_BINARY,
    tar::FORMAT,
    zip::FORMAT,
    zip::FORMAT_DAHUA,
    sevenz::FORMAT,
    hikvision::FORMAT,
    arcadyan::FORMAT,
    realtek_mib::FORMAT,
    verity::FORMAT,
    unsupported::FORMAT_DLINK_SHRS,
    unsupported::FORMAT_DLINK_ENCRPTED_IMG,
];

/// Shared helpers for the formats' unit tests.
#[cfg(test)]
pub mod testing;
