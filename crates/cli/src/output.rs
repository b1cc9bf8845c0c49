//! Where and how the command line prints: colour, quiet mode, errors.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use rewind_model::{Diagnostic, Severity};
use rewind_report::style::{terminal_safe, Style};

use crate::cli::{ColorChoice, Global};

/// The terminal the command prints to, and how.
pub struct Output {
    /// Styling of standard output.
    pub style: Style,
    /// Styling of standard error.
    pub err_style: Style,
    /// `-q`: results and errors only.
    pub quiet: bool,
}

fn want_color(choice: ColorChoice, tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true)
        }
    }
}

/// Writes `bytes` to `w` and flushes it. A closed pipe (`rewind … | head`)
/// is not an error: the reader has what it wanted. Any other failure (a
/// full disk) is, so a truncated result never exits 0.
pub fn write_result(w: &mut dyn Write, bytes: &[u8]) -> anyhow::Result<()> {
    written(w.write_all(bytes).and_then(|()| w.flush()))
}

/// The outcome of writing a result (see [`write_result`]).
pub fn written(r: std::io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing the result to standard output"),
    }
}

/// Where a result given in pieces goes, a piece at a time.
pub type Emit<'a> = dyn FnMut(&str) -> std::io::Result<()> + 'a;

/// Writes a line to standard error. A closed or full one loses the line
/// (`eprintln!` would panic and exit 101, hiding the command's own exit
/// code).
pub fn to_stderr(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e
        .write_all(line.as_bytes())
        .and_then(|()| e.write_all(b"\n"));
}

impl Output {
    pub fn new(g: &Global) -> Output {
        Output {
            style: Style {
                color: want_color(g.color, std::io::stdout().is_terminal()),
            },
            err_style: Style {
                color: want_color(g.color, std::io::stderr().is_terminal()),
            },
            quiet: g.quiet,
        }
    }

    /// Writes a result to standard output (see [`write_result`]).
    pub fn print(&self, s: &str) -> anyhow::Result<()> {
        write_result(
            &mut std::io::stdout().lock(),
            terminal_safe(s, self.style.color).as_bytes(),
        )
    }

    /// Writes a result given in pieces to standard output, each made
    /// safe for a terminal as [`Output::print`] makes a whole one.
    pub fn print_with(
        &self,
        write: &mut dyn FnMut(&mut Emit) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        let color = self.style.color;
        let r = write(&mut |piece: &str| w.write_all(terminal_safe(piece, color).as_bytes()))
            .and_then(|()| w.flush());
        written(r)
    }

    /// An engine error as the command's error, after printing the
    /// diagnostics of a version that could not be loaded (and the warnings
    /// of those loaded before it).
    pub fn failed(&self, e: rewind_engine::Error) -> anyhow::Error {
        if let rewind_engine::Error::Load(f) = &e {
            self.diagnostics(&f.earlier);
            self.diagnostics(&f.diagnostics);
        }
        e.into()
    }

    pub fn error(&self, e: &anyhow::Error) {
        let mut msg = format!("{} {e}", self.err_style.red(&self.err_style.bold("error:")));
        for cause in e.chain().skip(1) {
            msg.push_str(&format!("\n  caused by: {cause}"));
        }
        to_stderr(&terminal_safe(&msg, self.err_style.color));
    }

    pub fn diagnostic(&self, d: &Diagnostic) {
        if self.quiet && d.severity == Severity::Warning {
            return;
        }
        let text = d.to_string();
        let text = match d.severity {
            Severity::Error => text.replacen(
                "error:",
                &self.err_style.red(&self.err_style.bold("error:")),
                1,
            ),
            Severity::Warning => text.replacen(
                "warning:",
                &self.err_style.yellow(&self.err_style.bold("warning:")),
                1,
            ),
        };
        to_stderr(&terminal_safe(&text, self.err_style.color));
    }

    pub fn diagnostics(&self, ds: &[Diagnostic]) {
        for d in ds {
            self.diagnostic(d);
        }
    }

    /// The version a `diff`, `plan`, `graph` or `report` side names (see
    /// [`rewind_engine::Version::parse`]), with the note of
    /// [`Output::ref_note`] when it is a snapshot.
    pub fn version<'s>(
        &self,
        spec: &str,
        stores: &'s rewind_engine::LazyStore,
    ) -> anyhow::Result<rewind_engine::Version<'s>> {
        let v = rewind_engine::Version::parse(spec, stores).map_err(|e| self.failed(e))?;
        if let rewind_engine::Version::Snapshot(s) = &v {
            self.ref_note(s.store, spec);
        }
        Ok(v)
    }

    /// Says so when a REF is a tag made of digits (a pipeline number)
    /// that is also the start of another snapshot's id: the tag wins, as a
    /// ref does in git, and the note gives the `id:` form for the other.
    pub fn ref_note(&self, store: &rewind_odb::Store, spec: &str) {
        let spec = spec.strip_prefix("ref:").unwrap_or(spec).trim();
        // only such names can be both; everything else costs nothing
        if spec.len() < 6 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
            return;
        }
        if let Ok(Some(note)) = store.refs().and_then(|r| store.shadowed_id(&r, spec)) {
            self.note(&note);
        }
    }

    /// Progress and notes (suppressed by `-q`).
    pub fn note(&self, s: &str) {
        if !self.quiet {
            to_stderr(&terminal_safe(s, self.err_style.color));
        }
    }
}
