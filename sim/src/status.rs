//! API errors and their `Status` bodies (SIM_SPEC §2.6).
//!
//! kube parses every 4xx/5xx body as a `Status` and decides `is_not_found()` and friends from
//! `reason` alone, so reasons and messages here are copied from apimachinery's
//! `pkg/api/errors/errors.go`. Owns the error shape only; which error a request earns is decided
//! by the request handlers.

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;

/// One entry of `details.causes`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

impl Cause {
    pub fn new(reason: &str, message: impl Into<String>, field: impl Into<String>) -> Cause {
        Cause {
            reason: reason.to_string(),
            message: message.into(),
            field: field.into(),
        }
    }
    pub fn required(field: &str) -> Cause {
        Cause::new("FieldValueRequired", "Required value", field)
    }
    pub fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
        Cause::new(
            "FieldValueInvalid",
            format!("Invalid value: {}: {detail}", go_value(value)),
            field,
        )
    }
    pub fn forbidden(field: &str, detail: &str) -> Cause {
        Cause::new("FieldValueForbidden", format!("Forbidden: {detail}"), field)
    }
    pub fn immutable(field: &str, value: &Value) -> Cause {
        Cause::invalid(field, value, "field is immutable")
    }
}

/// Renders a value the way Go's `%#v`-ish field errors do: strings quoted, the rest as JSON.
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Object(_) | Value::Array(_) => "{...}".to_string(),
        other => other.to_string(),
    }
}

/// `details` of a `Status`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Details {
    pub name: Option<String>,
    pub group: Option<String>,
    pub kind: Option<String>,
    pub causes: Vec<Cause>,
    pub retry_after: Option<u64>,
}

/// A failed API request, rendered as a `Status` body.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    /// None: the body has no `details` at all.
    pub details: Option<Box<Details>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details: Some(Box::default()),
        }
    }

    /// The details, created if absent.
    pub fn details_mut(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Box::default)
    }

    pub fn without_details(mut self) -> ApiError {
        self.details = None;
        self
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.details.as_ref().and_then(|d| d.retry_after)
    }

    pub fn causes(&self) -> &[Cause] {
        self.details
            .as_ref()
            .map(|d| d.causes.as_slice())
            .unwrap_or(&[])
    }

    fn with_target(mut self, rt: &ResourceType, name: &str) -> ApiError {
        let d = self.details_mut();
        d.name = Some(name.to_string());
        d.group = Some(rt.group.clone());
        d.kind = Some(rt.plural.clone());
        self
    }

    /// 404 for a path no resource answers.
    pub fn no_route() -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} {name:?} not found", rt.qualified()),
        )
        .with_target(rt, name)
    }

    pub fn namespace_not_found(ns: &str) -> ApiError {
        let mut e = ApiError::new(404, "NotFound", format!("namespaces {ns:?} not found"));
        let d = e.details_mut();
        d.name = Some(ns.to_string());
        d.kind = Some("namespaces".to_string());
        e
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} {name:?} already exists", rt.qualified()),
        )
        .with_target(rt, name)
    }

    /// 409 for a stale `resourceVersion`.
    pub fn conflict_modified(rt: &ResourceType, name: &str) -> ApiError {
        ApiError::conflict(
            rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn conflict(rt: &ResourceType, name: &str, detail: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: {detail}",
                rt.qualified()
            ),
        )
        .with_target(rt, name)
    }

    /// 422 with field causes; `details.kind` is the Kind here, not the plural.
    pub fn invalid(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> ApiError {
        let list = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect::<Vec<_>>();
        let joined = if list.len() == 1 {
            list[0].clone()
        } else {
            format!("[{}]", list.join(", "))
        };
        let kind = if rt.group.is_empty() {
            rt.kind.clone()
        } else {
            format!("{}.{}", rt.kind, rt.group)
        };
        let mut e = ApiError::new(
            422,
            "Invalid",
            format!("{kind} {name:?} is invalid: {joined}"),
        );
        let d = e.details_mut();
        d.name = Some(name.to_string());
        d.group = Some(rt.group.clone());
        d.kind = Some(rt.kind.clone());
        d.causes = causes;
        e
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message).without_details()
    }

    pub fn forbidden(rt: &ResourceType, name: &str, detail: &str) -> ApiError {
        ApiError::new(
            403,
            "Forbidden",
            format!("{} {name:?} is forbidden: {detail}", rt.qualified()),
        )
        .with_target(rt, name)
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn unsupported_media_type(ct: &str) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {ct:?})"
            ),
        )
    }

    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message).without_details()
    }

    pub fn internal(message: &str) -> ApiError {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
        )
    }

    /// The `Status` object as JSON.
    pub fn to_status(&self) -> Value {
        let mut out = Map::new();
        out.insert("kind".into(), json!("Status"));
        out.insert("apiVersion".into(), json!("v1"));
        out.insert("metadata".into(), json!({}));
        out.insert("status".into(), json!("Failure"));
        out.insert("message".into(), json!(self.message));
        out.insert("reason".into(), json!(self.reason));
        if let Some(det) = &self.details {
            let mut d = Map::new();
            if let Some(n) = &det.name {
                d.insert("name".into(), json!(n));
            }
            if let Some(g) = &det.group
                && !g.is_empty()
            {
                d.insert("group".into(), json!(g));
            }
            if let Some(k) = &det.kind {
                d.insert("kind".into(), json!(k));
            }
            if !det.causes.is_empty() {
                let causes: Vec<Value> = det
                    .causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
                d.insert("causes".into(), Value::Array(causes));
            }
            if let Some(r) = det.retry_after {
                d.insert("retryAfterSeconds".into(), json!(r));
            }
            out.insert("details".into(), Value::Object(d));
        }
        out.insert("code".into(), json!(self.code));
        Value::Object(out)
    }
}

/// The `Status` a successful immediate delete returns (apiserver `finalizeDelete`).
pub fn delete_success(rt: &ResourceType, name: &str, uid: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !rt.group.is_empty() {
        details.insert("group".into(), json!(rt.group));
    }
    details.insert("kind".into(), json!(rt.plural));
    details.insert("uid".into(), json!(uid));
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": Value::Object(details),
    })
}
