//! Where and how the command line prints: colour, quiet mode, errors.

use std::io::{IsTerminal, Write};

use rewind_model::{Diagnostic, Severity};
use rewind_report::style::Style;

use crate::cli::{ColorChoice, Global};

pub struct Output {
    pub style: Style,
    pub err_style: Style,
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

    /// Writes to standard output (a closed pipe is not an error).
    pub fn print(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes());
        let _ = o.flush();
    }

    pub fn error(&self, e: &anyhow::Error) {
        let mut msg = format!("{} {e}", self.err_style.red(&self.err_style.bold("error:")));
        for cause in e.chain().skip(1) {
            msg.push_str(&format!("\n  caused by: {cause}"));
        }
        eprintln!("{msg}");
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
        eprintln!("{text}");
    }

    pub fn diagnostics(&self, ds: &[Diagnostic]) {
        for d in ds {
            self.diagnostic(d);
        }
    }

    /// Progress and notes (suppressed by `-q`).
    pub fn note(&self, s: &str) {
        if !self.quiet {
            eprintln!("{s}");
        }
    }
}
