//! Markdown that fits a size budget (a pull-request comment: GitHub
//! refuses more than 65,536 characters).

/// How a Markdown report is cut to size.
#[derive(Clone, Debug)]
pub struct MarkdownOptions {
    /// At most this many bytes (so at most this many characters); `0`: no
    /// limit. The summary, the destroys and the risks are always shown,
    /// even past the budget.
    pub budget: usize,
    /// The command that shows everything, for the note when something
    /// was cut (`rewind diff v1 v2 --format html > diff.html`).
    pub see_all: String,
}

/// The default budget: under GitHub's 65,536-character comment limit with
/// room for a few lines of the caller's own.
pub const DEFAULT_BUDGET: usize = 60_000;

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            budget: DEFAULT_BUDGET,
            see_all: String::new(),
        }
    }
}

/// Room kept for the note that says what was cut.
const NOTE_ROOM: usize = 600;

/// A document being filled up to a budget.
pub(crate) struct Fit {
    pub(crate) out: String,
    limit: usize,
    /// What was left out, by kind (`rows of the change table`, `details`).
    left_out: Vec<(&'static str, usize)>,
    /// Destroys not even listed compactly (a huge plan).
    destroys_cut: usize,
}

impl Fit {
    pub(crate) fn new(o: &MarkdownOptions) -> Fit {
        Fit {
            out: String::new(),
            limit: if o.budget == 0 {
                usize::MAX
            } else {
                o.budget.saturating_sub(NOTE_ROOM)
            },
            left_out: Vec::new(),
            destroys_cut: 0,
        }
    }

    /// Adds what is always shown.
    pub(crate) fn always(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// True when `extra` more bytes still fit.
    pub(crate) fn fits(&self, extra: usize) -> bool {
        self.out.len().saturating_add(extra) <= self.limit
    }

    /// Adds `s` if it fits; otherwise counts one `what` as left out.
    pub(crate) fn add(&mut self, what: &'static str, s: &str) -> bool {
        if self.fits(s.len()) {
            self.out.push_str(s);
            true
        } else {
            self.skip(what, 1);
            false
        }
    }

    /// Adds the rows that are always shown (destroys): as rows of the
    /// table that `header` opens when they fit, else as a compact list of
    /// `compact` items (the list itself is cut only when even it does not
    /// fit, and the note says so). Returns true when the table was opened
    /// (with the rows); false when the caller must open it for the other rows.
    pub(crate) fn always_rows(
        &mut self,
        header: &str,
        rows: &[String],
        compact: &[String],
    ) -> bool {
        let total: usize = header.len() + rows.iter().map(|r| r.len()).sum::<usize>();
        if rows.is_empty() || self.fits(total) {
            self.always(header);
            for r in rows {
                self.always(r);
            }
            return true;
        }
        self.always(&format!(
            "**Destroys ({}), listed compactly to fit the comment:** ",
            compact.len()
        ));
        for (i, c) in compact.iter().enumerate() {
            let item = if i == 0 { c.clone() } else { format!(", {c}") };
            if !self.fits(item.len()) {
                self.destroys_cut = compact.len() - i;
                break;
            }
            self.always(&item);
        }
        if self.destroys_cut > 0 {
            self.always(&format!(", and {} more", self.destroys_cut));
        }
        self.always("\n\n");
        false
    }

    /// A table: `always` rows first (see [`Fit::always_rows`]), then the
    /// `others` while they fit (a prefix of them; the rest are counted as
    /// `what` left out). Returns whether the `always` rows went into the
    /// table (rather than a compact list) and how many of `others` did.
    pub(crate) fn table(
        &mut self,
        header: &str,
        always: &[String],
        compact: &[String],
        others: &[String],
        what: &'static str,
    ) -> (bool, usize) {
        let in_table = self.always_rows(header, always, compact);
        let mut opened = in_table;
        for (i, row) in others.iter().enumerate() {
            if !opened && self.fits(header.len() + row.len()) {
                self.always(header);
                opened = true;
            }
            if !opened || !self.fits(row.len()) {
                self.skip(what, others.len() - i);
                return (in_table, i);
            }
            self.always(row);
        }
        (in_table, others.len())
    }

    /// Counts `n` of `what` as left out.
    pub(crate) fn skip(&mut self, what: &'static str, n: usize) {
        if n == 0 {
            return;
        }
        match self.left_out.iter_mut().find(|(w, _)| *w == what) {
            Some((_, c)) => *c += n,
            None => self.left_out.push((what, n)),
        }
    }

    /// The document, with a note when something was left out.
    pub(crate) fn finish(mut self, o: &MarkdownOptions) -> String {
        if self.left_out.is_empty() && self.destroys_cut == 0 {
            return self.out;
        }
        if self.destroys_cut > 0 {
            self.left_out.insert(0, ("destroys", self.destroys_cut));
        }
        let parts: Vec<String> = self
            .left_out
            .iter()
            .map(|(w, n)| format!("{n} {w}"))
            .collect();
        self.out.push_str(&format!(
            "\n> [!NOTE]\n> Cut to fit {} characters: {} left out ({}).",
            o.budget,
            parts.join(", "),
            if self.destroys_cut > 0 {
                "even the list of destroys was too long; the summary and risks above are complete"
            } else {
                "the summary, destroys and risks above are complete"
            }
        ));
        if o.see_all.is_empty() {
            self.out
                .push_str(" Use `--format html` or `--budget 0` to see everything.\n");
        } else {
            self.out.push_str(&format!(
                " To see everything: {} (or `--budget 0`).\n",
                crate::style::md_code(&o.see_all)
            ));
        }
        self.out
    }
}
