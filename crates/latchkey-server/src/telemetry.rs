//! Structured logs, on stderr (stdout stays for command output). Secrets never reach them:
//! handlers log ids, not tokens; the access log names routes, not paths or query strings; an
//! account appears only as `latchkey_core::audit::account_ref`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `level` is already validated by the configuration; `RUST_LOG` wins when it parses.
pub fn init(format: &str, level: &str) {
    let (filter, bad_rust_log) = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => match EnvFilter::try_new(&v) {
            Ok(f) => (f, None),
            Err(e) => (EnvFilter::new(level), Some(e)),
        },
        _ => (EnvFilter::new(level), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in files and log collectors.
        .with_ansi(std::io::stderr().is_terminal());
    // JSON escapes every control character itself; the text format is escaped here.
    let _ = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.fmt_fields(escaped_fields()).try_init()
    };
    if let Some(e) = bad_rust_log {
        tracing::warn!(error = %e, level, "RUST_LOG is not a valid filter and is ignored");
    }
}

/// The text format's fields (`name=value`, the message bare), each value with its control and
/// invisible characters escaped. Values taken from a request (a path parameter, a provider
/// name, a header) could otherwise end the line and forge the next one (`%0A`), or colour and
/// rewrite a terminal (`%1B[…`): one event is always one line, and what it shows is what it
/// holds.
fn escaped_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        use std::fmt::Write;
        let name = field.name();
        if name != "message" {
            write!(writer, "{}=", name.strip_prefix("r#").unwrap_or(name))?;
        }
        write!(Escaping(writer), "{value:?}")
    })
    .delimited(" ")
}

/// Writes through to `W`, escaping what a log line must not carry raw.
struct Escaping<W>(W);

impl<W: std::fmt::Write> std::fmt::Write for Escaping<W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c if invisible(c) => write!(self.0, "\\u{{{:x}}}", c as u32)?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Control characters (C0, DEL, C1: ESC among them), and the format characters that move or
/// hide text: zero-width ones, the Unicode line and paragraph separators, bidirectional overrides
/// and isolates, the byte-order mark.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::Escaping;

    #[test]
    fn logged_values_keep_to_one_plain_line() {
        use std::fmt::Write;
        let mut out = String::new();
        write!(
            Escaping(&mut out),
            "x\n2026-01-01 INFO forged\r\u{1b}[31m\t\u{7f}\u{85}\u{202e}\u{2028}é ok"
        )
        .unwrap();
        assert_eq!(
            out,
            r"x\n2026-01-01 INFO forged\r\u{1b}[31m\t\u{7f}\u{85}\u{202e}\u{2028}é ok"
        );
    }
}
