//! Fault injection (SIM_SPEC §6): rules of match + action + budget, evaluated for every API
//! request, with hit counts and seeded randomness. The HTTP layer carries the actions out.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::SimTime;
use crate::status::ApiError;

/// Which requests a rule applies to; every field set must match.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Match {
    /// discovery, get, list, watch, create, update, patch, apply, delete, deletecollection
    pub verb: Option<String>,
    pub group: Option<String>,
    pub resource: Option<String>,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// A glob over the request path (`*` matches any run of characters).
    pub path: Option<String>,
    pub field_manager: Option<String>,
}

/// What happens to a matching request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    Delay {
        ms: u64,
        #[serde(default)]
        jitter_ms: u64,
    },
    /// Answer with a `Status` error instead of serving the request.
    Status {
        code: u16,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        retry_after_s: Option<u64>,
    },
    /// Perform the write, then answer with an error.
    CommitThenFail {
        code: u16,
    },
    /// Close the connection without an answer.
    Reset,
    /// 200 headers and half the body, then close.
    Truncate,
    /// 200 with a body that is not JSON.
    Garbage,
    WatchCloseAfter {
        #[serde(default)]
        events: Option<u64>,
        #[serde(default)]
        ms: Option<u64>,
    },
    WatchAbortAfter {
        #[serde(default)]
        events: Option<u64>,
        #[serde(default)]
        ms: Option<u64>,
    },
    WatchExpire,
    WatchStall,
    WatchNoInitialEndBookmark,
}

impl Action {
    pub fn delay(ms: u64) -> Action {
        Action::Delay { ms, jitter_ms: 0 }
    }
    pub fn status(code: u16) -> Action {
        Action::Status {
            code,
            reason: None,
            message: None,
            retry_after_s: None,
        }
    }
    pub fn status_retry_after(code: u16, secs: u64) -> Action {
        Action::Status {
            code,
            reason: None,
            message: None,
            retry_after_s: Some(secs),
        }
    }
    fn is_watch_only(&self) -> bool {
        matches!(
            self,
            Action::WatchCloseAfter { .. }
                | Action::WatchAbortAfter { .. }
                | Action::WatchExpire
                | Action::WatchStall
                | Action::WatchNoInitialEndBookmark
        )
    }
}

/// How often a rule fires among its matches.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "snake_case", deny_unknown_fields)]
pub struct Budget {
    /// Only the first n matches.
    pub times: Option<u64>,
    /// Skip the first n matches.
    pub after: Option<u64>,
    /// Every n-th match.
    pub every: Option<u64>,
    pub probability: Option<f64>,
    /// RFC 3339; the rule stops firing at this simulated time.
    pub until_time: Option<String>,
}

/// One fault rule. A field it does not know is refused, not ignored: a
/// misspelt one (`field_manager` for `fieldManager`) would widen the rule
/// or leave it silently without effect.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(rename = "match", default)]
    pub matches: Match,
    pub action: Action,
    #[serde(default)]
    pub budget: Budget,
}

impl Rule {
    pub fn new(matches: Match, action: Action) -> Rule {
        Rule {
            matches,
            action,
            budget: Budget::default(),
        }
    }
    pub fn times(mut self, n: u64) -> Rule {
        self.budget.times = Some(n);
        self
    }

    /// Admission refusing what the controllers create of `resource` (a
    /// policy webhook, a quota): a 403 with `message` for each such create.
    pub fn refuse_controller_creates(resource: &str, message: &str) -> Rule {
        Rule::new(
            Match {
                field_manager: Some("kube-controller-manager".into()),
                ..Match::verb("create").resource(resource)
            },
            Action::Status {
                code: 403,
                reason: None,
                message: Some(message.into()),
                retry_after_s: None,
            },
        )
    }
}

impl Match {
    pub fn verb(verb: &str) -> Match {
        Match {
            verb: Some(verb.to_string()),
            ..Match::default()
        }
    }
    pub fn resource(mut self, resource: &str) -> Match {
        self.resource = Some(resource.to_string());
        self
    }
}

/// What the HTTP layer knows about a request, for matching.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
    pub field_manager: String,
}

struct Slot {
    id: u64,
    rule: Rule,
    matched: u64,
    hits: u64,
}

struct State {
    rules: Vec<Slot>,
    next_id: u64,
    rng: StdRng,
}

/// The fault rule set.
pub struct Faults {
    state: Mutex<State>,
}

/// The actions that fire for one request: accumulated delay, then at most one other action.
#[derive(Clone, Debug, Default)]
pub struct Decision {
    pub delay_ms: u64,
    pub action: Option<Action>,
}

fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(idx) => rest = &rest[idx + p.len()..],
                None => return false,
            }
        }
    }
    true
}

impl Match {
    fn accepts(&self, f: &Facts) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_ref().is_none_or(|w| w == have);
        eq(&self.verb, &f.verb)
            && eq(&self.group, &f.group)
            && eq(&self.resource, &f.resource)
            && eq(&self.subresource, &f.subresource)
            && eq(&self.namespace, &f.namespace)
            && eq(&self.name, &f.name)
            && eq(&self.field_manager, &f.field_manager)
            && self.path.as_ref().is_none_or(|p| glob(p, &f.path))
    }
}

impl Faults {
    pub fn new(seed: u64) -> Faults {
        Faults {
            state: Mutex::new(State {
                rules: Vec::new(),
                next_id: 1,
                rng: StdRng::seed_from_u64(seed ^ 0x5eed_fa17),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a rule; returns its id.
    pub fn add(&self, rule: Rule) -> u64 {
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        s.rules.push(Slot {
            id,
            rule,
            matched: 0,
            hits: 0,
        });
        id
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut s = self.lock();
        let before = s.rules.len();
        s.rules.retain(|r| r.id != id);
        s.rules.len() != before
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// How many times rule `id` fired.
    pub fn hits(&self, id: u64) -> u64 {
        self.lock()
            .rules
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.hits)
            .unwrap_or(0)
    }

    /// The rules with their ids and hit counts, as `GET /_sim/v1/faults` shows them.
    pub fn list(&self) -> Value {
        let s = self.lock();
        Value::Array(
            s.rules
                .iter()
                .map(|r| json!({"id": r.id, "hits": r.hits, "matched": r.matched, "rule": r.rule}))
                .collect(),
        )
    }

    /// Decides what happens to a request.
    pub fn check(&self, f: &Facts, now: SimTime, is_watch: bool) -> Decision {
        self.decide(f, now, is_watch, false)
    }

    /// The error a rule makes a controller's own write fail with, as an
    /// admission webhook or a quota refuses what a controller creates. Only
    /// rules that name the controller's `fieldManager` and answer with a
    /// status apply: a rule written for clients' requests never reaches
    /// the controllers.
    pub fn check_controller(&self, f: &Facts, now: SimTime) -> Option<ApiError> {
        match self.decide(f, now, false, true).action? {
            Action::Status {
                code,
                reason,
                message,
                retry_after_s,
            } => Some(injected_error(
                code,
                reason.as_deref(),
                message.as_deref(),
                retry_after_s,
                f,
            )),
            _ => None,
        }
    }

    fn decide(&self, f: &Facts, now: SimTime, is_watch: bool, controller: bool) -> Decision {
        let mut s = self.lock();
        let mut d = Decision::default();
        let State { rules, rng, .. } = &mut *s;
        for slot in rules.iter_mut() {
            if !slot.rule.matches.accepts(f) {
                continue;
            }
            if controller
                && (slot.rule.matches.field_manager.is_none()
                    || !matches!(slot.rule.action, Action::Status { .. }))
            {
                continue;
            }
            if slot.rule.action.is_watch_only() && !is_watch {
                continue;
            }
            slot.matched += 1;
            let n = slot.matched;
            let b = &slot.rule.budget;
            if b.after.is_some_and(|a| n <= a) {
                continue;
            }
            let eligible = n - b.after.unwrap_or(0);
            if b.every.is_some_and(|e| e > 0 && eligible % e != 0) {
                continue;
            }
            if b.times.is_some_and(|t| slot.hits >= t) {
                continue;
            }
            if b.until_time
                .as_deref()
                .and_then(SimTime::parse)
                .is_some_and(|u| now >= u)
            {
                continue;
            }
            if let Some(p) = b.probability
                && rng.random::<f64>() >= p
            {
                continue;
            }
            match &slot.rule.action {
                Action::Delay { ms, jitter_ms } => {
                    slot.hits += 1;
                    let j = if *jitter_ms > 0 {
                        rng.random_range(0..=*jitter_ms)
                    } else {
                        0
                    };
                    d.delay_ms += ms + j;
                }
                other if d.action.is_none() => {
                    slot.hits += 1;
                    d.action = Some(other.clone());
                }
                _ => {}
            }
        }
        d
    }
}

/// The `Status` error an injected status action answers with, mirroring apiserver errors.
pub fn injected_error(
    code: u16,
    reason: Option<&str>,
    message: Option<&str>,
    retry_after: Option<u64>,
    f: &Facts,
) -> ApiError {
    let (default_reason, default_message) = match code {
        400 => ("BadRequest", "injected bad request".to_string()),
        403 => (
            "Forbidden",
            format!(
                "{}{} {:?} is forbidden: User \"sim\" cannot {} resource {:?} in API group {:?} in the namespace {:?}",
                f.resource,
                if f.group.is_empty() { String::new() } else { format!(".{}", f.group) },
                f.name,
                if f.verb == "apply" { "patch" } else { &f.verb },
                f.resource,
                f.group,
                f.namespace
            ),
        ),
        404 => ("NotFound", "the server could not find the requested resource".to_string()),
        409 => (
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {}{} {:?}: the object has been modified; please apply your changes to the latest version and try again",
                f.resource,
                if f.group.is_empty() { String::new() } else { format!(".{}", f.group) },
                f.name
            ),
        ),
        410 => ("Expired", "too old resource version".to_string()),
        422 => ("Invalid", "injected validation failure".to_string()),
        429 => ("TooManyRequests", "Too many requests, please try again later.".to_string()),
        500 => ("InternalError", "Internal error occurred: injected fault".to_string()),
        503 => ("ServiceUnavailable", "the server is currently unable to handle the request".to_string()),
        504 => (
            "Timeout",
            "Timeout: request did not complete within requested timeout - context deadline exceeded".to_string(),
        ),
        _ => ("InternalError", format!("injected error {code}")),
    };
    let mut e = ApiError::new(
        code,
        reason.unwrap_or(default_reason),
        message.map(str::to_string).unwrap_or(default_message),
    );
    let d = e.details_mut();
    d.retry_after = retry_after.or((code == 429).then_some(1));
    if !f.name.is_empty() {
        d.name = Some(f.name.clone());
    }
    if !f.resource.is_empty() {
        d.group = Some(f.group.clone());
        d.kind = Some(f.resource.clone());
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_a_rule_does_not_know_is_refused() {
        let read = |text: &str| serde_json::from_str::<Rule>(text).map_err(|e| e.to_string());
        let ok = r#"{"match":{"verb":"create","fieldManager":"m"},"action":{"type":"status","code":403},"budget":{"times":1}}"#;
        assert_eq!(
            read(ok).unwrap().matches.field_manager.as_deref(),
            Some("m")
        );
        for (text, field) in [
            (
                r#"{"match":{"field_manager":"m"},"action":{"type":"reset"}}"#,
                "field_manager",
            ),
            (
                r#"{"match":{},"action":{"type":"delay","ms":5,"jiter_ms":1}}"#,
                "jiter_ms",
            ),
            (
                r#"{"match":{},"action":{"type":"reset"},"budget":{"time":1}}"#,
                "time",
            ),
            (r#"{"matches":{},"action":{"type":"reset"}}"#, "matches"),
        ] {
            let e = read(text).unwrap_err();
            assert!(
                e.contains(&format!("unknown field `{field}`")),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn glob_matches() {
        assert!(glob("/apis/apps/*", "/apis/apps/v1/deployments"));
        assert!(glob("*/deployments", "/apis/apps/v1/deployments"));
        assert!(!glob("/api/*", "/apis/apps"));
    }

    #[test]
    fn times_budget() {
        let f = Faults::new(1);
        f.add(Rule::new(Match::verb("get"), Action::status(503)).times(2));
        let facts = Facts {
            verb: "get".into(),
            ..Facts::default()
        };
        let fired: Vec<bool> = (0..4)
            .map(|_| f.check(&facts, SimTime(0), false).action.is_some())
            .collect();
        assert_eq!(fired, [true, true, false, false]);
    }
}
