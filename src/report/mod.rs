//! Stage 5: the canonical report model and its renderers.

pub mod build;
pub mod html;
pub mod i18n;
pub mod json;
pub mod junit;
pub mod listing;
pub mod markdown;
pub mod model;
pub mod rules_view;
pub mod sarif;
pub mod text;

pub use i18n::Lang;
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
    /// The self-contained, printable HTML certificate ([`html`]).
    Html,
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
            Format::Html => "html",
        }
    }

    /// Every format.
    pub const ALL: [Format; 6] = [
        Format::Json,
        Format::Text,
        Format::Sarif,
        Format::Junit,
        Format::Markdown,
        Format::Html,
    ];

    /// The format's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Text => "text",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
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

/// The report in `format`, in English.
pub fn render(report: &Report, format: Format) -> String {
    render_in(report, format, Lang::En)
}

/// The report in `format`; the human views (text, Markdown, HTML) in
/// `lang`. JSON, SARIF and JUnit are for machines and stay as they are.
pub fn render_in(report: &Report, format: Format, lang: Lang) -> String {
    match format {
        Format::Json => json::render(report),
        Format::Text => text::render_in(report, lang),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => markdown::render_in(report, lang),
        Format::Html => html::render(report, lang),
    }
}
