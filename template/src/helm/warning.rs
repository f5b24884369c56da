//! What Helm logs, without failing, while it prepares a release's values:
//! the coalescing warnings (`coalesce.go`: "warning: skipped value for
//! p.sub.x: Not a table.") and the dependency notices (`dependencies.go`:
//! a condition or tag that is not a bool, an import-values table that does
//! not exist).
//!
//! Helm writes the first kind with `log.Printf` and the second with
//! `slog.Warn`. The helm CLI installs a `slog.TextHandler` without the time
//! (`pkg/cmd/root.go` `SetupLogging`, `internal/logging`), and Go routes the
//! `log` package through the default slog handler at level INFO, so on the
//! CLI's stderr both read as `level=INFO msg="warning: …"` /
//! `level=WARN msg="returned non-bool value" path=a.on chart=a`. `Display`
//! writes that line.
//!
//! Order: Helm walks Go maps, whose order is random, so when one pass over
//! the values has several warnings Helm's order varies from run to run;
//! berth's follows the keys' sorted order. Every pass that meets the
//! conflict warns again, as Helm does (a chart with dependencies coalesces
//! three times: dependency conditions, import-values, the final values).

use std::fmt;

/// The slog level Helm logs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `log.Printf`, which slog's default logger records at INFO.
    Info,
    /// `slog.Warn`.
    Warn,
}

/// One line Helm logs on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub level: Level,
    /// The message, as Helm formats it (`warning: cannot overwrite table
    /// with non table for a.b (map[c:1])`).
    pub message: String,
    /// slog's key/value attributes, in order.
    pub attrs: Vec<(&'static str, String)>,
}

impl Warning {
    /// A `log.Printf` message.
    pub fn printf(message: String) -> Warning {
        Warning {
            level: Level::Info,
            message,
            attrs: Vec::new(),
        }
    }

    /// A `slog.Info(message, key, value, …)` record.
    pub fn info(message: &str, attrs: Vec<(&'static str, String)>) -> Warning {
        Warning {
            level: Level::Info,
            message: message.to_string(),
            attrs,
        }
    }

    /// A `slog.Warn(message, key, value, …)` record.
    pub fn slog(message: &str, attrs: Vec<(&'static str, String)>) -> Warning {
        Warning {
            level: Level::Warn,
            message: message.to_string(),
            attrs,
        }
    }
}

/// slog's TextHandler line: `level=WARN msg="…" key=value`, values quoted
/// (Go's `strconv.Quote`) only when they need it.
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Info => "INFO",
            Level::Warn => "WARN",
        };
        write!(f, "level={level} msg={}", text_value(&self.message))?;
        for (key, value) in &self.attrs {
            write!(f, " {key}={}", text_value(value))?;
        }
        Ok(())
    }
}

/// slog's `needsQuoting`: empty, a space, `=`, `"`, a control character
/// below 0x20, or a non-printable or space rune beyond ASCII.
fn text_value(s: &str) -> String {
    let needs_quoting = s.is_empty()
        || s.chars().any(|c| {
            if c.is_ascii() {
                c == ' ' || c == '=' || c == '"' || c < ' '
            } else {
                c.is_whitespace() || !crate::gofmt::is_print(c) || c == '\u{FFFD}'
            }
        });
    if needs_quoting {
        crate::gofmt::quote(s)
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_messages_read_as_slog_info_lines() {
        let w = Warning::printf("warning: skipped value for p.sub.x: Not a table.".into());
        assert_eq!(
            w.to_string(),
            r#"level=INFO msg="warning: skipped value for p.sub.x: Not a table.""#
        );
    }

    #[test]
    fn attributes_are_quoted_only_when_needed() {
        let w = Warning::slog(
            "ImportValues missing table from chart",
            vec![
                ("chart", "sub".into()),
                ("error", "\"nope\" is not a table".into()),
                ("path", String::new()),
            ],
        );
        assert_eq!(
            w.to_string(),
            r#"level=WARN msg="ImportValues missing table from chart" chart=sub error="\"nope\" is not a table" path="""#
        );
    }
}
