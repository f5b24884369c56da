//! Who may do what: the authorization policy (`berthd --policy FILE`).
//!
//! A policy is a list of rules; each grants a role to identities (globs over
//! the client certificate's subject CN, DNS SANs and URI SANs) in namespaces
//! (globs). Roles are ordered, `read` < `deploy` < `admin`, and a caller
//! holds the highest role any matching rule grants in the namespace. With a
//! policy nothing is allowed unless a rule allows it. Without one, the
//! identity `berth certs init` names (berthd `--admin`, default `admin`) is
//! admin everywhere and every other identity is refused.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

/// What a role allows; each includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// list, status, history, get, watch, diff, drift and dry runs.
    Read,
    /// install, upgrade, rollback, test.
    Deploy,
    /// uninstall, unlock, import, export-helm: everything.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Read => "read",
            Role::Deploy => "deploy",
            Role::Admin => "admin",
        })
    }
}

/// A call the policy rules on, named as the CLI verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    List,
    Status,
    History,
    Get,
    Watch,
    Diff,
    Drift,
    Install,
    Upgrade,
    Rollback,
    Test,
    Uninstall,
    Unlock,
    /// `berth import`: rewrites a release's history from Helm's.
    Import,
    /// `berth export-helm`: writes Helm's release Secrets.
    ExportHelm,
}

impl Verb {
    /// The role a verb needs. Dry runs change nothing, so they need only
    /// `read` (`berth diff`, `rollback --dry-run`).
    pub fn needs(self, dry_run: bool) -> Role {
        match self {
            Verb::List
            | Verb::Status
            | Verb::History
            | Verb::Get
            | Verb::Watch
            | Verb::Diff
            | Verb::Drift => Role::Read,
            Verb::Install | Verb::Upgrade | Verb::Rollback if dry_run => Role::Read,
            Verb::Install | Verb::Upgrade | Verb::Rollback | Verb::Test => Role::Deploy,
            Verb::Uninstall | Verb::Unlock | Verb::Import | Verb::ExportHelm => Role::Admin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verb::List => "list",
            Verb::Status => "status",
            Verb::History => "history",
            Verb::Get => "get",
            Verb::Watch => "watch",
            Verb::Diff => "diff",
            Verb::Drift => "drift",
            Verb::Install => "install",
            Verb::Upgrade => "upgrade",
            Verb::Rollback => "rollback",
            Verb::Test => "test",
            Verb::Uninstall => "uninstall",
            Verb::Unlock => "unlock",
            Verb::Import => "import",
            Verb::ExportHelm => "export-helm",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    identities: Vec<String>,
    namespaces: Vec<String>,
    role: Role,
}

#[derive(Debug)]
struct Rule {
    identities: Vec<GlobMatcher>,
    namespaces: Vec<GlobMatcher>,
    role: Role,
}

/// The rules in force.
#[derive(Debug)]
pub struct Policy {
    rules: Vec<Rule>,
    /// Where the rules came from, for log lines.
    source: String,
}

/// A refusal, worded for the caller and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub identity: String,
    pub verb: Verb,
    pub namespace: String,
    pub needs: Role,
    pub has: Option<Role>,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "all namespaces".to_string()
        } else {
            format!("namespace {}", self.namespace)
        };
        write!(
            f,
            "{} may not {} in {ns}: it needs the {} role there and has ",
            self.identity,
            self.verb.as_str(),
            self.needs
        )?;
        match self.has {
            Some(r) => write!(f, "{r}"),
            None => f.write_str("none"),
        }
    }
}

fn glob(pattern: &str, what: &str, rule: usize) -> Result<GlobMatcher, String> {
    if pattern.is_empty() {
        return Err(format!("rules[{rule}].{what}: an empty pattern"));
    }
    Glob::new(pattern)
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("rules[{rule}].{what}: {e}"))
}

impl Policy {
    /// The policy when none is given: `admin` is admin everywhere.
    pub fn default_for(admin: &str) -> Policy {
        let any = Glob::new("*").expect("a valid glob").compile_matcher();
        let who = Glob::new(&globset::escape(admin))
            .expect("an escaped literal is a valid glob")
            .compile_matcher();
        Policy {
            rules: vec![Rule {
                identities: vec![who],
                namespaces: vec![any],
                role: Role::Admin,
            }],
            source: format!("the built-in policy (only {admin} is admin)"),
        }
    }

    /// Parse a policy file's text; errors name the field at fault.
    pub fn parse(text: &str, source: &str) -> Result<Policy, String> {
        let opts = serde_saphyr::options! { budget: berth::manifest::yaml_budget() };
        let file: PolicyFile = serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
            format!(
                "{source}: {}",
                berth::manifest::yaml_error_line(&e.to_string())
            )
        })?;
        let mut rules = Vec::with_capacity(file.rules.len());
        for (i, r) in file.rules.into_iter().enumerate() {
            if r.identities.is_empty() || r.namespaces.is_empty() {
                return Err(format!(
                    "{source}: rules[{i}]: identities and namespaces must each list at least one pattern"
                ));
            }
            let identities = r
                .identities
                .iter()
                .map(|p| glob(p, "identities", i))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{source}: {e}"))?;
            let namespaces = r
                .namespaces
                .iter()
                .map(|p| glob(p, "namespaces", i))
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{source}: {e}"))?;
            rules.push(Rule {
                identities,
                namespaces,
                role: r.role,
            });
        }
        Ok(Policy {
            rules,
            source: source.to_string(),
        })
    }

    /// Read and parse a policy file.
    pub fn load(path: &Path) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Policy::parse(&text, &path.display().to_string())
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The highest role any of `names` holds in `namespace`.
    pub fn role(&self, names: &[String], namespace: &str) -> Option<Role> {
        self.rules
            .iter()
            .filter(|r| r.namespaces.iter().any(|g| g.is_match(namespace)))
            .filter(|r| {
                names
                    .iter()
                    .any(|n| r.identities.iter().any(|g| g.is_match(n)))
            })
            .map(|r| r.role)
            .max()
    }

    /// Whether `names` hold `role` in at least one namespace; listing all
    /// namespaces needs that, and then shows only the readable ones.
    pub fn holds_anywhere(&self, names: &[String], role: Role) -> bool {
        self.rules.iter().any(|r| {
            r.role >= role
                && names
                    .iter()
                    .any(|n| r.identities.iter().any(|g| g.is_match(n)))
        })
    }

    /// Allow the call, or say why not. `identity` is the name recorded as
    /// BY; `names` are every name of the certificate.
    pub fn check(
        &self,
        identity: &str,
        names: &[String],
        verb: Verb,
        namespace: &str,
        dry_run: bool,
    ) -> Result<(), Denied> {
        let needs = verb.needs(dry_run);
        let has = self.role(names, namespace);
        if has.is_some_and(|r| r >= needs) {
            return Ok(());
        }
        Err(Denied {
            identity: identity.to_string(),
            verb,
            namespace: namespace.to_string(),
            needs,
            has,
        })
    }
}

/// Where the policy comes from (berthd `--policy` or `--admin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// No policy file: this identity is admin, everyone else is refused.
    Default { admin: String },
    /// A policy file, re-read when it changes on disk.
    File(PathBuf),
}

impl Default for PolicySource {
    fn default() -> Self {
        PolicySource::Default {
            admin: "admin".into(),
        }
    }
}

/// The policy in force, reloaded when its file changes. A file that no
/// longer parses leaves the previous policy in force (and says so in the
/// log) rather than opening or closing the agent by accident.
pub struct Authorizer {
    source: PolicySource,
    current: RwLock<(Option<FileStamp>, Arc<Policy>)>,
}

/// What identifies one version of a file on disk.
type FileStamp = (SystemTime, u64);

fn stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Authorizer {
    /// Load the policy; a missing or malformed file is an error at start.
    pub fn new(source: PolicySource) -> Result<Authorizer, String> {
        let (stamped, policy) = match &source {
            PolicySource::Default { admin } => (None, Policy::default_for(admin)),
            PolicySource::File(path) => (stamp(path), Policy::load(path)?),
        };
        tracing::info!(
            policy = policy.source(),
            rules = policy.rules.len(),
            "authorization policy loaded"
        );
        Ok(Authorizer {
            source,
            current: RwLock::new((stamped, Arc::new(policy))),
        })
    }

    /// The policy to decide a call by, re-read first if its file changed.
    pub fn policy(&self) -> Arc<Policy> {
        let PolicySource::File(path) = &self.source else {
            return Arc::clone(&self.current.read().expect("policy lock").1);
        };
        let now = stamp(path);
        {
            let cur = self.current.read().expect("policy lock");
            if cur.0 == now {
                return Arc::clone(&cur.1);
            }
        }
        let mut cur = self.current.write().expect("policy lock");
        if cur.0 != now {
            cur.0 = now;
            match Policy::load(path) {
                Ok(p) => {
                    tracing::info!(
                        policy = p.source(),
                        rules = p.rules.len(),
                        "authorization policy reloaded"
                    );
                    cur.1 = Arc::new(p);
                }
                Err(e) => {
                    tracing::error!(error = %e, "policy file changed but cannot be used; the previous policy stays in force")
                }
            }
        }
        Arc::clone(&cur.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
rules:
  - identities: ["ops-*", "spiffe://example.org/ops/*"]
    namespaces: ["*"]
    role: admin
  - identities: ["ci-*"]
    namespaces: ["staging", "team-*"]
    role: deploy
  - identities: ["*"]
    namespaces: ["team-*"]
    role: read
"#;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn highest_matching_role_wins() {
        let p = Policy::parse(POLICY, "p.yaml").unwrap();
        assert_eq!(p.role(&names(&["ci-bot"]), "team-a"), Some(Role::Deploy));
        assert_eq!(p.role(&names(&["ci-bot"]), "prod"), None);
        assert_eq!(p.role(&names(&["alice"]), "team-a"), Some(Role::Read));
        assert_eq!(
            p.role(&names(&["x", "spiffe://example.org/ops/eu/1"]), "prod"),
            Some(Role::Admin),
            "a URI SAN matches, and * crosses /"
        );
    }

    #[test]
    fn dry_runs_need_only_read() {
        let p = Policy::parse(POLICY, "p.yaml").unwrap();
        let alice = names(&["alice"]);
        assert!(
            p.check("alice", &alice, Verb::Upgrade, "team-a", true)
                .is_ok()
        );
        let e = p
            .check("alice", &alice, Verb::Upgrade, "team-a", false)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "alice may not upgrade in namespace team-a: it needs the deploy role there and has read"
        );
        let e = p
            .check("alice", &alice, Verb::Status, "prod", false)
            .unwrap_err();
        assert!(e.to_string().ends_with("has none"), "{e}");
    }

    #[test]
    fn importing_and_exporting_helm_releases_need_admin() {
        let p = Policy::parse(POLICY, "p.yaml").unwrap();
        let ci = names(&["ci-bot"]);
        for verb in [Verb::Import, Verb::ExportHelm] {
            let e = p.check("ci-bot", &ci, verb, "staging", false).unwrap_err();
            assert_eq!(e.needs, Role::Admin, "{e}");
            assert!(
                p.check("ops-1", &names(&["ops-1"]), verb, "staging", false)
                    .is_ok()
            );
        }
        let e = p
            .check("ci-bot", &ci, Verb::Import, "staging", false)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ci-bot may not import in namespace staging: it needs the admin role there and has deploy"
        );
    }

    #[test]
    fn the_default_policy_knows_only_the_admin() {
        let p = Policy::default_for("admin");
        let admin = names(&["admin"]);
        assert!(
            p.check("admin", &admin, Verb::Uninstall, "x", false)
                .is_ok()
        );
        assert!(
            p.check("ad*", &names(&["ad*"]), Verb::List, "x", false)
                .is_err()
        );
        assert!(
            p.check("other", &names(&["other"]), Verb::List, "x", false)
                .is_err()
        );
    }

    #[test]
    fn bad_policies_name_the_problem() {
        for (text, want) in [
            (
                "rules: [{identities: [a], namespaces: [b], role: root}]",
                "root",
            ),
            (
                "rules: [{identities: [], namespaces: [b], role: read}]",
                "rules[0]",
            ),
            (
                "rules: [{identities: ['a[', ], namespaces: [b], role: read}]",
                "rules[0].identities",
            ),
            (
                "rules: [{identities: [a], namespaces: [b], role: read, extra: 1}]",
                "extra",
            ),
            ("rules: [", "p.yaml"),
            ("- a", "p.yaml"),
        ] {
            let e = Policy::parse(text, "p.yaml").unwrap_err();
            assert!(e.starts_with("p.yaml: "), "{e}");
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn the_policy_shipped_in_deploy_parses() {
        let manifest = include_str!("../../deploy/berthd.yaml");
        let start = manifest.find("  policy.yaml: |\n").expect("the ConfigMap") + 17;
        let body: String = manifest[start..]
            .lines()
            .take_while(|l| l.starts_with("    ") || l.is_empty())
            .map(|l| format!("{}\n", l.get(4..).unwrap_or("")))
            .collect();
        let p = Policy::parse(&body, "deploy/berthd.yaml").unwrap();
        assert_eq!(p.role(&["admin".into()], "x"), Some(Role::Admin));
    }
}
