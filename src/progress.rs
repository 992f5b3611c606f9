//! Progress reporting for long jobs.
//!
//! The library never writes to the terminal itself; it tells an
//! [`Observer`] what it is doing and the binary decides how (and whether)
//! to show it. Observers see nothing that reaches the report, so a scan with
//! or without one produces the same bytes.

use std::fmt;
use std::sync::Arc;

use crate::unpack::Chain;

/// Receives progress events from a running scan or unpack.
pub trait Observer: Send + Sync {
    /// A pipeline stage begins (`unpack`, `inventory`, `checks`, `report`).
    fn stage(&self, name: &str);
    /// The unpacker entered a container: its chain, and the bytes all
    /// extractors have produced so far.
    fn container(&self, chain: &Chain, extracted_bytes: u64);
}

/// An optional, shareable observer that keeps option structs `Debug`.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<dyn Observer>>);

impl Progress {
    pub fn new(observer: Arc<dyn Observer>) -> Self {
        Progress(Some(observer))
    }

    pub fn stage(&self, name: &str) {
        if let Some(o) = &self.0 {
            o.stage(name);
        }
    }

    pub fn container(&self, chain: &Chain, extracted_bytes: u64) {
        if let Some(o) = &self.0 {
            o.container(chain, extracted_bytes);
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(on)"
        } else {
            "Progress(off)"
        })
    }
}
