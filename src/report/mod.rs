//! Stage 5: the canonical report model and its renderers.

pub mod build;
pub mod json;
pub mod listing;
pub mod model;
pub mod rules_view;
pub mod text;

pub use model::Report;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Text,
}

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => json::render(report),
        Format::Text => text::render(report),
    }
}
