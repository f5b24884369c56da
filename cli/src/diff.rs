//! Unified diffs of YAML, as `diff -u` and `helm diff` show them; coloured
//! (red removals, green additions, cyan hunk headers) when writing to a
//! terminal.

use berth::proto::{self, PlanAction};
use similar::TextDiff;

/// A unified diff of `old` → `new` with the given file headers; empty when
/// the texts are equal.
pub fn unified(
    old: &str,
    new: &str,
    old_name: &str,
    new_name: &str,
    context: usize,
    color: bool,
) -> String {
    if old == new {
        return String::new();
    }
    // Both sides end in a newline, so no "\ No newline at end of file".
    let terminated = |t: &str| {
        if t.is_empty() || t.ends_with('\n') {
            t.to_string()
        } else {
            format!("{t}\n")
        }
    };
    let (old, new) = (terminated(old), terminated(new));
    let diff = TextDiff::from_lines(&old, &new);
    let text = diff
        .unified_diff()
        .context_radius(context)
        .header(old_name, new_name)
        .to_string();
    if !color {
        return text;
    }
    text.lines()
        .map(|l| {
            let code = if l.starts_with("+++") || l.starts_with("---") {
                "1"
            } else if l.starts_with('+') {
                "32"
            } else if l.starts_with('-') {
                "31"
            } else if l.starts_with("@@") {
                "36"
            } else {
                return format!("{l}\n");
            };
            format!("\x1b[{code}m{l}\x1b[0m\n")
        })
        .collect()
}

/// One object's change as the agent computed it.
pub fn resource(d: &proto::ResourceDiff, context: usize, color: bool) -> String {
    let name = d
        .object
        .as_ref()
        .map(|o| {
            if o.namespace.is_empty() {
                format!("{}/{}", o.kind, o.name)
            } else {
                format!("{}/{}/{}", o.namespace, o.kind, o.name)
            }
        })
        .unwrap_or_default();
    let what = match PlanAction::try_from(d.action).unwrap_or(PlanAction::Unspecified) {
        PlanAction::Create => "added",
        PlanAction::Delete => "removed",
        _ => "changed",
    };
    let header = format!("{name} ({what})\n");
    let body = unified(
        &d.live,
        &d.desired,
        &format!("live/{name}"),
        &format!("desired/{name}"),
        context,
        color,
    );
    format!("{header}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_one_hunk_with_context() {
        let d = unified(
            "a: 1\nb: 2\nc: 3\n",
            "a: 1\nb: 3\nc: 3\n",
            "x",
            "y",
            1,
            false,
        );
        assert_eq!(
            d,
            "--- x\n+++ y\n@@ -1,3 +1,3 @@\n a: 1\n-b: 2\n+b: 3\n c: 3\n"
        );
        assert_eq!(unified("a\n", "a\n", "x", "y", 3, false), "");
        assert!(unified("a\n", "b\n", "x", "y", 3, true).contains("\x1b[31m-a"));
    }
}
