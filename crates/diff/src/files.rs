//! The file-level text diff beside the semantic one (`diff --files`).

/// A changed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// The file, relative to its root module's directory.
    pub path: String,
    /// `added`, `removed` or `modified`.
    pub change: &'static str,
    /// Unified diff text; `None` when hidden (secrets) or binary.
    pub diff: Option<String>,
    /// Why there is no diff text.
    pub note: Option<String>,
}

/// The unified diff (three lines of context) of two versions of `path`.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn unified_diff_names_both_sides() {
        let d = super::unified_diff("main.tf", "a = 1\nb = 2\n", "a = 1\nb = 3\n");
        assert!(d.starts_with("--- a/main.tf\n+++ b/main.tf\n"), "{d}");
        assert!(d.contains("-b = 2\n+b = 3\n"), "{d}");
    }
}
