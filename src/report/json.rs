//! The canonical JSON rendering: pretty-printed, keys in declaration order,
//! lists pre-sorted by the model, a trailing newline. Byte-identical for the
//! same image and rule set.

use super::model::Report;

pub fn render(report: &Report) -> String {
    // Serialising plain data structures to a String cannot fail.
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
