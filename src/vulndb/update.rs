//! `fwcert db update`: the store brought up to date from the official
//! sources, the NVD CVE API 2.0 and the CISA KEV catalogue.
//!
//! The NVD is asked once per catalogue CPE (`virtualMatchString`), page by
//! page (`startIndex`, `resultsPerPage`), so only the CVEs of components
//! fwcert identifies are downloaded. Every page goes through the importer
//! `fwcert db import` uses ([`super::import::apply`]), in memory: the store
//! is replaced (atomically, by [`super::replace`]) only after the whole
//! download was read and imported. An HTTP error, a body cut short or a
//! page that is not an NVD feed stops the update with the store as it was.
//!
//! This is the only place fwcert opens a network connection; a scan reads
//! the store it is given and nothing else.

use std::time::Duration;

use serde_json::Value;

use super::import::{self, ImportError};
use crate::checks::components::data::VulnData;
use crate::inventory::components::catalog;

/// The NVD CVE API 2.0.
pub const NVD_URL: &str = "https://services.nvd.nist.gov/rest/json/cves/2.0";
/// The CISA Known Exploited Vulnerabilities catalogue (JSON).
pub const KEV_URL: &str = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";

/// The NVD's largest page of CVEs.
const PAGE: u64 = 2000;
/// A page or catalogue larger than this is refused (the KEV catalogue is
/// a few MB, a full NVD page about 10 MB).
const BODY_LIMIT: u64 = 256 * 1024 * 1024;
/// More CVEs than the whole NVD holds for one product means a broken or
/// hostile answer, not a longer download.
const MAX_RESULTS: u64 = 1_000_000;

/// Where to download from and how politely.
#[derive(Debug, Clone)]
pub struct Sources {
    pub nvd_url: String,
    pub kev_url: String,
    /// An NVD API key (sent as the `apiKey` header): a higher rate limit.
    pub api_key: Option<String>,
    /// The pause between two NVD requests. The NVD asks for about six
    /// seconds without a key (five requests in a rolling 30 s window).
    pub interval: Duration,
    /// Give up on a request after this long.
    pub timeout: Duration,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            nvd_url: NVD_URL.to_string(),
            kev_url: KEV_URL.to_string(),
            api_key: None,
            interval: Duration::from_secs(6),
            timeout: Duration::from_secs(120),
        }
    }
}

/// Why an update stopped (the store is unchanged).
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("{url}: {source}")]
    Http {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{url}: {source}")]
    Import {
        url: String,
        #[source]
        source: ImportError,
    },
    #[error("{url}: {why}")]
    Page { url: String, why: String },
}

/// What an update brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// NVD requests made (pages).
    pub pages: usize,
    /// CVE objects the NVD pages held (a CVE of two products counts twice).
    pub nvd_records: u64,
    pub added: usize,
    pub updated: usize,
    /// CVEs the KEV catalogue flagged.
    pub kev_flagged: usize,
}

/// What the progress display is told.
pub enum Step<'a> {
    /// Starting the NVD queries: how many products there are.
    Products(u64),
    /// One product is done.
    Product(&'a str),
    /// The KEV catalogue is being read.
    Kev,
}

/// The catalogue's CPEs as NVD match strings, in catalogue order.
pub fn match_strings() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for cpe in catalog().components.iter().filter_map(|c| c.cpe.as_deref()) {
        let m = format!("cpe:2.3:{cpe}:*:*:*:*:*:*:*:*");
        if !v.contains(&m) {
            v.push(m);
        }
    }
    v
}

/// Download the NVD pages of every catalogue CPE and the KEV catalogue and
/// import them into `data`. Nothing is written: the caller replaces the
/// store with the result.
pub fn run(
    mut data: VulnData,
    sources: &Sources,
    progress: &mut dyn FnMut(Step<'_>),
) -> Result<(VulnData, Outcome), UpdateError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(sources.timeout))
        .http_status_as_error(true)
        .user_agent(concat!("fwcert/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut out = Outcome::default();
    let products = match_strings();
    progress(Step::Products(products.len() as u64));
    let mut first = true;
    for cpe in &products {
        let mut start = 0u64;
        loop {
            if !first {
                std::thread::sleep(sources.interval);
            }
            first = false;
            let mut req = agent
                .get(&sources.nvd_url)
                .query("virtualMatchString", cpe)
                .query("startIndex", start.to_string())
                .query("resultsPerPage", PAGE.to_string());
            if let Some(k) = &sources.api_key {
                req = req.header("apiKey", k);
            }
            let url = format!("{} ({cpe}, from {start})", sources.nvd_url);
            let body = fetch(req.call(), &url)?;
            let page = nvd_page(&body, start).map_err(|why| UpdateError::Page { url: url.clone(), why })?;
            let (next, s) = import::apply(data, &body).map_err(|source| UpdateError::Import {
                url: url.clone(),
                source,
            })?;
            data = next;
            out.pages += 1;
            out.nvd_records += page.count;
            out.added += s.added;
            out.updated += s.updated;
            start += page.count;
            if start >= page.total {
                break;
            }
        }
        progress(Step::Product(cpe));
    }
    progress(Step::Kev);
    let url = sources.kev_url.clone();
    let body = fetch(agent.get(&url).call(), &url)?;
    let (next, s) = import::apply(data, &body).map_err(|source| UpdateError::Import {
        url: url.clone(),
        source,
    })?;
    if s.kind != "KEV" {
        return Err(UpdateError::Page {
            url,
            why: "not the KEV catalogue".into(),
        });
    }
    out.kev_flagged = s.updated;
    Ok((next, out))
}

/// The body of a response, whole: a body cut short (fewer bytes than its
/// `Content-Length`, or a broken chunked encoding) is an error.
fn fetch(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>, url: &str) -> Result<Vec<u8>, UpdateError> {
    let http = |source| UpdateError::Http {
        url: url.to_string(),
        source: Box::new(source),
    };
    let mut resp = resp.map_err(http)?;
    resp.body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_vec()
        .map_err(http)
}

/// What one NVD page says about the paging.
struct PageInfo {
    /// CVE objects on this page.
    count: u64,
    total: u64,
}

/// Check an NVD page's paging fields: it must be the page asked for, and
/// hold as many CVEs as it says, so that a short or looping answer stops
/// the update instead of silently missing CVEs.
fn nvd_page(body: &[u8], start: u64) -> Result<PageInfo, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON (truncated or corrupt?): {e}"))?;
    if doc.get("format").and_then(Value::as_str) != Some("NVD_CVE") {
        return Err("not an NVD CVE API 2.0 page".into());
    }
    let num = |k: &str| doc.get(k).and_then(Value::as_u64).ok_or(format!("no `{k}`"));
    let (total, index) = (num("totalResults")?, num("startIndex")?);
    let count = doc
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .ok_or("no `vulnerabilities`")?
        .len() as u64;
    if index != start {
        return Err(format!("page starts at {index}, {start} was asked for"));
    }
    if total > MAX_RESULTS {
        return Err(format!("{total} results is not believable"));
    }
    if start + count > total || (count == 0 && start < total) {
        return Err(format!("{count} CVEs from {start} of {total}: the page is incomplete"));
    }
    Ok(PageInfo { count, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(start: u64, total: u64, n: usize) -> Vec<u8> {
        let v: Vec<Value> = (0..n).map(|_| serde_json::json!({"cve": {}})).collect();
        serde_json::to_vec(&serde_json::json!({
            "format": "NVD_CVE", "startIndex": start, "totalResults": total, "vulnerabilities": v
        }))
        .unwrap()
    }

    #[test]
    fn pages_must_be_the_one_asked_for_and_complete() {
        assert_eq!(nvd_page(&page(0, 0, 0), 0).map(|p| (p.count, p.total)), Ok((0, 0)));
        assert_eq!(nvd_page(&page(2, 3, 1), 2).map(|p| (p.count, p.total)), Ok((1, 3)));
        // An empty page before the end would loop for ever.
        assert!(nvd_page(&page(2, 3, 0), 2).is_err());
        assert!(nvd_page(&page(0, 3, 1), 2).is_err());
        assert!(nvd_page(&page(0, 1, 2), 0).is_err());
        assert!(nvd_page(b"{\"format\": \"NVD_CVE\"}", 0).is_err());
        assert!(nvd_page(b"{\"catalogVersion\": \"x\"}", 0).is_err());
    }

    #[test]
    fn every_catalogue_cpe_is_asked_for_once() {
        let m = match_strings();
        assert!(m.contains(&"cpe:2.3:a:haxx:curl:*:*:*:*:*:*:*:*".to_string()));
        assert!(m.iter().all(|s| s.split(':').count() == 13), "{m:?}");
        let mut sorted = m.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), m.len());
    }
}
