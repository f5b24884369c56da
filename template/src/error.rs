//! Errors as Go builds them, and Helm's rewriting of them.
//!
//! Go template errors are chains (`fmt.Errorf("...: %w", err)`), and Helm's
//! engine formats the final message by walking that chain
//! (`reformatExecErrorMsg` in `pkg/engine/engine.go`). [`GoError`] keeps the
//! chain so the same walk can be done here.

use std::fmt;

/// A Go `error` value: its text, whether it is a `template.ExecError`, and
/// the error it wraps (`%w`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoError {
    pub msg: String,
    pub exec: bool,
    pub cause: Option<Box<GoError>>,
}

impl GoError {
    /// `errors.New(msg)`.
    pub fn plain(msg: impl Into<String>) -> GoError {
        GoError {
            msg: msg.into(),
            exec: false,
            cause: None,
        }
    }

    /// `fmt.Errorf(prefix + "%w", cause)`.
    pub fn wrap(prefix: impl fmt::Display, cause: GoError) -> GoError {
        GoError {
            msg: format!("{prefix}{}", cause.msg),
            exec: false,
            cause: Some(Box::new(cause)),
        }
    }

    /// Whether an `ExecError` is anywhere in the chain (Go's `errors.As`).
    pub fn has_exec(&self) -> bool {
        self.exec || self.cause.as_ref().is_some_and(|c| c.has_exec())
    }

    /// The texts along the chain, outermost first.
    fn chain(&self) -> Vec<&str> {
        let mut v = vec![self.msg.as_str()];
        let mut cur = self.cause.as_deref();
        while let Some(c) = cur {
            v.push(&c.msg);
            cur = c.cause.as_deref();
        }
        v
    }
}

impl fmt::Display for GoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for GoError {}

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

/// Wraps a message from `required`/`fail` the way Helm marks them.
pub fn warn_wrap(msg: &str) -> String {
    format!("{WARN_START}{msg}{WARN_END}")
}

/// Helm's `reformatExecErrorMsg(filename, err)`.
pub fn reformat_exec_error(filename: &str, err: &GoError) -> String {
    if !err.has_exec() {
        return err.msg.clone();
    }
    let tokens: Vec<&str> = err.msg.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {}", err.msg);
    }
    let location = tokens[1];
    // `HELM_ERR_START((?s).*)HELM_ERR_END`: greedy, so the last end marker.
    if let Some(start) = tokens[2].find(WARN_START) {
        let after = &tokens[2][start + WARN_START.len()..];
        if let Some(end) = after.rfind(WARN_END) {
            return format!("execution error at ({location}): {}", &after[..end]);
        }
    }
    let mut locations: Vec<Traceable> = Vec::new();
    for text in err.chain() {
        match parse_exec_error_string(text) {
            Some(tr) => {
                if locations.last() != Some(&tr) {
                    locations.push(tr);
                }
            }
            None => return err.msg.clone(),
        }
    }
    let mut out = String::new();
    for l in &locations {
        out.push_str(&l.to_string());
    }
    out.trim().to_string()
}

/// Helm's `cleanupParseError(filename, err)`.
pub fn cleanup_parse_error(filename: &str, msg: &str) -> String {
    let tokens: Vec<&str> = msg.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {msg}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

#[derive(Debug, PartialEq, Eq)]
struct Traceable {
    location: String,
    message: String,
    executed_function: String,
}

impl fmt::Display for Traceable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.location.is_empty() {
            write!(f, "{}\n  ", self.location)?;
        }
        if !self.executed_function.is_empty() {
            write!(f, "{}\n    ", self.executed_function)?;
        }
        if !self.message.is_empty() {
            writeln!(f, "{}", self.message)?;
        }
        Ok(())
    }
}

fn parse_exec_error_string(s: &str) -> Option<Traceable> {
    let remainder = s.strip_prefix("template: ")?;
    if remainder.starts_with("no template ") {
        return Some(Traceable {
            location: String::new(),
            message: s.to_string(),
            executed_function: String::new(),
        });
    }
    if let Some(t) = parse_executing_at(remainder) {
        return Some(t);
    }
    let sep = remainder.rfind(": ")?;
    let mut msg = &remainder[sep + 2..];
    if let Some(cut) = msg.find(" template:") {
        msg = &msg[..cut];
    }
    Some(Traceable {
        location: remainder[..sep].to_string(),
        message: msg.to_string(),
        executed_function: String::new(),
    })
}

fn parse_executing_at(remainder: &str) -> Option<Traceable> {
    let (template_name, after) = remainder.split_once(": executing ")?;
    let after = after.strip_prefix('"')?;
    let end_quote = after.find('"')?;
    let function_name = &after[..end_quote];
    let after_func = after[end_quote + 1..].strip_prefix(" at <")?;
    let (location, mut msg) = after_func.split_once(">: ")?;
    if let Some(cut) = msg.find(" template:") {
        msg = &msg[..cut];
    }
    Some(Traceable {
        location: template_name.to_string(),
        message: msg.to_string(),
        executed_function: format!("executing \"{function_name}\" at <{location}>:"),
    })
}
