//! Stage 5: the canonical report model and its renderers.

pub mod build;
pub mod json;
pub mod junit;
pub mod listing;
pub mod markdown;
pub mod model;
pub mod rules_view;
pub mod sarif;
pub mod text;

pub use model::Report;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Text,
    /// SARIF 2.1.0 for code-scanning services ([`sarif`]).
    Sarif,
    /// JUnit XML for CI test reports ([`junit`]).
    Junit,
    /// A Markdown merge-request summary ([`markdown`]).
    Markdown,
}

impl Format {
    /// The usual file extension of a report in this format (`batch` names
    /// its extra reports with it).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Text => "txt",
            Format::Sarif => "sarif",
            Format::Junit => "junit.xml",
            Format::Markdown => "md",
        }
    }

    /// Every format.
    pub const ALL: [Format; 5] = [
        Format::Json,
        Format::Text,
        Format::Sarif,
        Format::Junit,
        Format::Markdown,
    ];

    /// The format's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Text => "text",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown format `{s}`"))
    }
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => json::render(report),
        Format::Text => text::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render(report),
    }
}
