//! Output formats shared by the commands: Helm-style tables, JSON, YAML,
//! and time formatting.

use std::io::Write;

use berth_template::funcs::dates::{GoTime, Loc, Zone, format_time, local_zone};
use serde_json::Value;

use crate::CliError;

/// `-o table|json|yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

// Times are shown in the local zone (Go's `time.Local`: `$TZ`, else
// /etc/localtime), as Helm shows a time in the zone of the machine that
// recorded it, which for Helm is the user's.

/// Go's `time.ANSIC`.
const ANSIC: &str = "Mon Jan _2 15:04:05 2006";
/// Go's `time.RFC3339Nano`, as a `time.Time` is written in JSON.
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// A time in Unix milliseconds written with a Go time layout in a zone.
fn layout_in(ms: i64, zone: &Zone, layout: &str) -> String {
    let t = GoTime::utc(
        ms.div_euclid(1000),
        (ms.rem_euclid(1000) * 1_000_000) as u32,
    );
    format_time(&t.in_zone(zone, Loc::Local), layout)
}

/// Go's `time.ANSIC`, as Helm writes history's UPDATED, status's LAST
/// DEPLOYED and a test's start and end: `Thu Jan  1 10:00:00 2026`; empty
/// for no time.
pub fn time(ms: i64) -> String {
    if ms > 0 {
        go_layout(ms, ANSIC)
    } else {
        String::new()
    }
}

/// Go's `time.Time.String()` (`2006-01-02 15:04:05.999999999 -0700 MST`),
/// as `helm list` writes UPDATED: `2026-01-01 10:00:00.25 +0000 UTC`.
pub fn go_string(ms: i64) -> String {
    go_layout(ms, "2006-01-02 15:04:05.999999999 -0700 MST")
}

/// A time in Unix milliseconds written with a Go time layout
/// (`list --time-format`, the times of `get all --template`).
pub fn go_layout(ms: i64, layout: &str) -> String {
    layout_in(ms, local_zone(), layout)
}

/// Go's RFC3339Nano, as Go's JSON writes a time: fractional seconds with
/// trailing zeros trimmed, `Z` in UTC, else the offset.
pub fn rfc3339(ms: i64) -> String {
    go_layout(ms, RFC3339_NANO)
}

/// `time.Now()` as Go's JSON writes it.
pub fn go_now() -> String {
    format_time(&GoTime::now(), RFC3339_NANO)
}

/// Go's RFC3339 (whole seconds).
pub fn rfc3339_seconds(ms: i64) -> String {
    go_layout(ms, "2006-01-02T15:04:05Z07:00")
}

/// A left-aligned table with columns padded like Helm's uitable.
pub fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
    write_table(out, header, rows, true)
}

/// The rows of [`table`] without its header line (`--no-headers`); the
/// columns are as wide as they would be with it.
pub fn table_rows(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<(), CliError> {
    write_table(out, header, rows, false)
}

/// uitable's cell truncation to a column width (go-runewidth's Truncate
/// with "...").
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let keep = width.saturating_sub(3);
    format!("{}...", s.chars().take(keep).collect::<String>())
}

/// Helm's `sanitizeString`: white space becomes a space and what does not
/// print is dropped. A cell holds what a chart or a failure said (an
/// appVersion, a description): one row stays one line, and no escape
/// sequence reaches the terminal.
pub fn sanitize(cell: &str) -> std::borrow::Cow<'_, str> {
    use berth_template::gofmt::is_print;
    if cell
        .chars()
        .all(|c| c == ' ' || (is_print(c) && !c.is_whitespace()))
    {
        return std::borrow::Cow::Borrowed(cell);
    }
    cell.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else {
                is_print(c).then_some(c)
            }
        })
        .collect()
}

fn write_table(
    out: &mut dyn Write,
    header: &[&str],
    rows: &[Vec<String>],
    with_header: bool,
) -> Result<(), CliError> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| sanitize(c).into_owned()).collect())
        .collect();
    let rows = &rows;
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}\t", w = widths[i]));
            }
        }
        s.trim_end().to_string()
    };
    if with_header {
        writeln!(out, "{}", line(header.to_vec()))?;
    }
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// `json.Marshal` as Helm's output encoder writes it: YAML numbers are Go
/// float64, so a replica count of 2 prints as `2`, not `2.0`.
pub(crate) fn go_json(value: &Value) -> Result<String, CliError> {
    berth_template::json::marshal(&berth_template::value::json::from_json(value))
        .map_err(CliError::Other)
}

/// A value headed for Helm's output encoders that may be a Go struct:
/// `json.Marshal` writes a struct's fields in declaration order (a map's
/// keys sorted); YAML goes through JSON into a map, so sorted either way.
pub(crate) enum GoJson {
    Value(Value),
    Struct(Vec<(&'static str, GoJson)>),
}

impl GoJson {
    fn json(&self) -> Result<String, CliError> {
        match self {
            GoJson::Value(v) => go_json(v),
            GoJson::Struct(fields) => {
                let mut out = String::from("{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&go_json(&Value::from(*name))?);
                    out.push(':');
                    out.push_str(&value.json()?);
                }
                out.push('}');
                Ok(out)
            }
        }
    }

    fn value(&self) -> Value {
        match self {
            GoJson::Value(v) => v.clone(),
            GoJson::Struct(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.value()))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for GoJson {
    fn from(s: &str) -> GoJson {
        GoJson::Value(s.into())
    }
}

/// A list of Go structs as [`structured`] writes a value.
pub(crate) fn structured_list(
    out: &mut dyn Write,
    format: Format,
    list: &[GoJson],
) -> Result<(), CliError> {
    match format {
        Format::Json | Format::Table => {
            let items: Vec<String> = list.iter().map(GoJson::json).collect::<Result<_, _>>()?;
            writeln!(out, "[{}]", items.join(","))?;
        }
        Format::Yaml => {
            let list = Value::Array(list.iter().map(GoJson::value).collect());
            write!(out, "{}", berth_template::yaml::marshal(&list))?;
        }
    }
    Ok(())
}

/// JSON (compact, one line, as Helm prints it) or YAML.
pub fn structured(out: &mut dyn Write, format: Format, value: &Value) -> Result<(), CliError> {
    match format {
        Format::Json | Format::Table => writeln!(out, "{}", go_json(value)?)?,
        Format::Yaml => write!(out, "{}", berth_template::yaml::marshal(value))?,
    }
    Ok(())
}

/// An error's text with every control character but line breaks and tabs
/// written out (`\x1b`), so that what a chart or a request put in a name or
/// a message cannot drive the terminal.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_helms_go_formats_them() {
        // 2026-01-01 10:00:00.25 UTC, a Thursday; and on the 17th.
        let ms = 1_767_261_600_250;
        let utc = Zone::Fixed(0, "UTC".into());
        assert_eq!(layout_in(ms, &utc, ANSIC), "Thu Jan  1 10:00:00 2026");
        let later = ms + 16 * 86_400_000;
        assert_eq!(layout_in(later, &utc, ANSIC), "Sat Jan 17 10:00:00 2026");
        let string = "2006-01-02 15:04:05.999999999 -0700 MST";
        assert_eq!(
            layout_in(ms, &utc, string),
            "2026-01-01 10:00:00.25 +0000 UTC"
        );
        assert_eq!(
            layout_in(ms - 250, &utc, string),
            "2026-01-01 10:00:00 +0000 UTC"
        );
        assert_eq!(layout_in(ms, &utc, RFC3339_NANO), "2026-01-01T10:00:00.25Z");
        assert_eq!(time(0), "");
        // In another zone: its wall clock, offset and abbreviation.
        let ist = Zone::Fixed(19_800, "IST".into());
        assert_eq!(layout_in(ms, &ist, ANSIC), "Thu Jan  1 15:30:00 2026");
        assert_eq!(
            layout_in(ms, &ist, string),
            "2026-01-01 15:30:00.25 +0530 IST"
        );
        assert_eq!(
            layout_in(ms, &ist, RFC3339_NANO),
            "2026-01-01T15:30:00.25+05:30"
        );
    }

    #[test]
    fn a_cell_is_one_line_of_printable_text() {
        // An appVersion that would clear the screen and fake a row.
        let evil = "1.0\u{1b}[2J\u{1b}[31mINJECTED\nREVISION FAKE\u{85}x\u{a0}y";
        assert_eq!(sanitize(evil), "1.0[2J[31mINJECTED REVISION FAKE x y");
        assert!(matches!(
            sanitize("plain 1.2.3 é"),
            std::borrow::Cow::Borrowed(_)
        ));
        let mut out = Vec::new();
        table(
            &mut out,
            &["A", "B"],
            &[vec!["x\ny".into(), "\u{1b}z".into()]],
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "A  \tB\nx y\tz\n");
    }

    #[test]
    fn an_error_keeps_its_lines_and_shows_its_control_characters() {
        assert_eq!(
            escape_controls("parse error at (x/a\u{1b}[31mRED): bad\n  next\tline\r"),
            "parse error at (x/a\\x1b[31mRED): bad\n  next\tline\\x0d"
        );
    }
}
