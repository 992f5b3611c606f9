//! The vulnerability store: the components family's CVE and end-of-life
//! data in one SQLite file, so that a lab can bring it up to date
//! (`fwcert db import`) without a new binary.
//!
//! The store embedded in the binary (`data/vulndb/vulndb.sqlite`) is built
//! by `cargo run --example build-vulndb` from public data kept in the
//! repository: the checked seed facts (`checks/components/*.toml`) and NVD
//! CVE API 2.0 records (`data/vulndb/nvd/`), read with the same importers
//! a lab uses. A test rebuilds it and compares the bytes.
//!
//! Each CVE and branch is a row with its key fields as columns and the
//! whole entry as JSON, so a reader needs no schema migration for a new
//! optional field. Whatever is read back is checked like the TOML files
//! ([`VulnData::from_parts`]): a store that does not pass is refused.
//!
//! Replacing a store is atomic: the new store is written to a temporary
//! file beside the old one, read back and checked, then renamed over it.

pub mod import;
pub mod update;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::checks::components::data::{Branch, Cve, EndOfLife, Policy, VulnData, Vulnerabilities};

/// The store's format; a store of another version is refused.
pub const SCHEMA_VERSION: &str = "1";

/// The store built into this binary.
pub static EMBEDDED: &[u8] = include_bytes!("../../data/vulndb/vulndb.sqlite");

/// A store that cannot be read, written or trusted.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("a stored entry is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the store's data does not pass its checks: {0}")]
    Invalid(String),
}

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE source (key TEXT PRIMARY KEY, description TEXT NOT NULL);
CREATE TABLE cve (id TEXT PRIMARY KEY, kev INTEGER NOT NULL, cvss REAL, record TEXT NOT NULL);
CREATE TABLE cve_component (cve TEXT NOT NULL REFERENCES cve(id), component TEXT NOT NULL, PRIMARY KEY (cve, component));
CREATE INDEX cve_component_by_name ON cve_component(component);
CREATE TABLE branch (seq INTEGER PRIMARY KEY, component TEXT NOT NULL, branch TEXT NOT NULL, eol TEXT, record TEXT NOT NULL);
CREATE TABLE policy (seq INTEGER PRIMARY KEY, component TEXT NOT NULL, record TEXT NOT NULL);
";

/// Write `data` as a new store at `path` (which must not exist).
pub fn write(data: &VulnData, path: &Path) -> Result<(), StoreError> {
    let mut conn = Connection::open(path)?;
    // Fixed page size and no WAL: the same data gives the same bytes.
    conn.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = DELETE;")?;
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    let v = &data.vulnerabilities;
    let e = &data.end_of_life;
    for (k, val) in [
        ("schema", SCHEMA_VERSION),
        ("snapshot", v.snapshot.as_str()),
        ("kev_catalog", v.kev_catalog.as_str()),
        ("kev_snapshot", v.kev_snapshot.as_str()),
        ("eol_snapshot", e.snapshot.as_str()),
    ] {
        tx.execute("INSERT INTO meta VALUES (?1, ?2)", params![k, val])?;
    }
    for (k, d) in &v.sources {
        tx.execute("INSERT INTO source VALUES (?1, ?2)", params![k, d])?;
    }
    for c in &v.cves {
        tx.execute(
            "INSERT INTO cve VALUES (?1, ?2, ?3, ?4)",
            params![c.id, c.kev, c.cvss.map(f64::from), serde_json::to_string(c)?],
        )?;
        for n in &c.components {
            tx.execute("INSERT OR IGNORE INTO cve_component VALUES (?1, ?2)", params![c.id, n])?;
        }
    }
    for (i, b) in e.branches.iter().enumerate() {
        tx.execute(
            "INSERT INTO branch VALUES (?1, ?2, ?3, ?4, ?5)",
            params![i as i64, b.component, b.branch, b.eol, serde_json::to_string(b)?],
        )?;
    }
    for (i, p) in e.policies.iter().enumerate() {
        tx.execute(
            "INSERT INTO policy VALUES (?1, ?2, ?3)",
            params![i as i64, p.component, serde_json::to_string(p)?],
        )?;
    }
    tx.commit()?;
    conn.execute_batch("VACUUM;")?;
    Ok(())
}

fn meta(conn: &Connection, key: &str) -> Result<String, StoreError> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::Invalid(format!("no `{key}` in meta")))
}

/// Read and check a store.
pub fn read(path: &Path) -> Result<VulnData, StoreError> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    read_from(&conn)
}

/// Read and check the store behind an open connection.
fn read_from(conn: &Connection) -> Result<VulnData, StoreError> {
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Invalid(format!("integrity check: {check}")));
    }
    let schema = meta(conn, "schema")?;
    if schema != SCHEMA_VERSION {
        return Err(StoreError::Invalid(format!(
            "store format {schema}, this fwcert reads {SCHEMA_VERSION}"
        )));
    }
    let records = |sql: &str| -> Result<Vec<String>, StoreError> {
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    };
    let mut sources = std::collections::BTreeMap::new();
    {
        let mut st = conn.prepare("SELECT key, description FROM source ORDER BY key")?;
        for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (k, d) = row?;
            sources.insert(k, d);
        }
    }
    let cves: Vec<Cve> = records("SELECT record FROM cve ORDER BY rowid")?
        .iter()
        .map(|r| serde_json::from_str(r))
        .collect::<Result<_, _>>()?;
    let branches: Vec<Branch> = records("SELECT record FROM branch ORDER BY seq")?
        .iter()
        .map(|r| serde_json::from_str(r))
        .collect::<Result<_, _>>()?;
    let policies: Vec<Policy> = records("SELECT record FROM policy ORDER BY seq")?
        .iter()
        .map(|r| serde_json::from_str(r))
        .collect::<Result<_, _>>()?;
    let v = Vulnerabilities {
        snapshot: meta(conn, "snapshot")?,
        kev_catalog: meta(conn, "kev_catalog")?,
        kev_snapshot: meta(conn, "kev_snapshot")?,
        sources,
        cves,
    };
    let e = EndOfLife {
        snapshot: meta(conn, "eol_snapshot")?,
        branches,
        policies,
    };
    VulnData::from_parts(v, e).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// The store built into this binary, read in memory (no file is
/// written: a scan works where no temporary directory is writable).
pub fn embedded() -> Result<VulnData, StoreError> {
    let mut conn = Connection::open_in_memory()?;
    conn.deserialize_bytes(rusqlite::MAIN_DB, EMBEDDED)?;
    read_from(&conn)
}

/// [`embedded`], read once per process.
pub fn embedded_cached() -> Result<VulnData, StoreError> {
    static E: std::sync::OnceLock<Result<VulnData, String>> = std::sync::OnceLock::new();
    E.get_or_init(|| embedded().map_err(|e| e.to_string()))
        .clone()
        .map_err(StoreError::Invalid)
}

/// Which store a scan used, for the report: where it came from, its
/// SHA-256 and its dates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoreInfo {
    /// `embedded`, or the store file's name.
    pub origin: String,
    /// SHA-256 of the store file (empty for the TOML files themselves).
    pub sha256: String,
    /// The date the vulnerability data was read in its sources.
    pub snapshot: String,
    pub kev_catalog: String,
    /// The date end of life is judged on.
    pub eol_snapshot: String,
}

impl StoreInfo {
    pub fn of(data: &VulnData, origin: &str, sha256: &str) -> StoreInfo {
        StoreInfo {
            origin: origin.to_string(),
            sha256: sha256.to_string(),
            snapshot: data.vulnerabilities.snapshot.clone(),
            kev_catalog: data.vulnerabilities.kev_catalog.clone(),
            eol_snapshot: data.end_of_life.snapshot.clone(),
        }
    }
}

/// Read the store at `path` for a scan: its data and its [`StoreInfo`].
pub fn open(path: &Path) -> Result<(VulnData, String), StoreError> {
    let bytes = std::fs::read(path)?;
    let data = read(path)?;
    Ok((data, crate::hash::sha256_hex(&bytes)))
}

/// Replace the store at `path` with `data`, atomically: written to a
/// temporary file in the same directory, read back and checked, then
/// renamed over the old one. On any error the old store is untouched.
pub fn replace(data: &VulnData, path: &Path) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".vulndb-")
        .suffix(".tmp")
        .tempfile_in(dir)?
        .into_temp_path();
    std::fs::remove_file(&tmp)?;
    write(data, &tmp)?;
    read(&tmp)?;
    tmp.persist(path).map_err(|e| StoreError::Io(e.error))?;
    Ok(())
}

/// What `fwcert db status` prints about a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub snapshot: String,
    pub kev_catalog: String,
    pub eol_snapshot: String,
    pub cves: usize,
    pub kev: usize,
    pub components: usize,
    pub branches: usize,
    pub sources: Vec<String>,
}

/// Counts and dates of `data`.
pub fn status(data: &VulnData) -> Status {
    let v = &data.vulnerabilities;
    let mut comps: Vec<&str> = v
        .cves
        .iter()
        .flat_map(|c| c.components.iter().map(String::as_str))
        .collect();
    comps.sort_unstable();
    comps.dedup();
    Status {
        snapshot: v.snapshot.clone(),
        kev_catalog: v.kev_catalog.clone(),
        eol_snapshot: data.end_of_life.snapshot.clone(),
        cves: v.cves.len(),
        kev: v.cves.iter().filter(|c| c.kev).count(),
        components: comps.len(),
        branches: data.end_of_life.branches.len(),
        sources: v.sources.keys().cloned().collect(),
    }
}

/// The embedded store as the build example makes it: the seed TOML files
/// with the NVD records of `data/vulndb/nvd/` imported on top.
pub fn build_from_repository(root: &Path) -> Result<VulnData, Box<dyn std::error::Error>> {
    let checks = root.join("checks/components");
    let v = std::fs::read_to_string(checks.join("vulnerabilities.toml"))?;
    let e = std::fs::read_to_string(checks.join("end-of-life.toml"))?;
    let mut data = VulnData::parse(&v, &e)?;
    let mut records: Vec<_> = std::fs::read_dir(root.join("data/vulndb/nvd"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    records.sort();
    for r in records {
        let bytes = std::fs::read(&r)?;
        data = import::apply(data, &bytes)
            .map_err(|e| format!("{}: {e}", r.display()))?
            .0;
    }
    Ok(data)
}
