//! The agent's handle on its own cluster, through the unmodified `kube`
//! client: connecting (kubeconfig or in-cluster), mapping apiVersion/kind to
//! resources with discovery, server-side apply, deletion, and what the
//! template engine asks of a cluster (`.Capabilities`, `lookup`).
//!
//! It knows nothing of releases or the journal.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

mod client;

pub use client::{Connections, IDLE_CONNECTIONS_PER_SERVER, STREAMS_PER_CONNECTION};

use berth::manifest::Object;
use berth::proto::{ApplyAction, ObjectRef};
use berth_template::helm;
use kube::api::{Api, DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
pub use kube::core::params::ValidationDirective;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde_json::Value;

/// The field manager of every berth apply.
pub const FIELD_MANAGER: &str = "berth";
/// Label put on every object berth applies, naming its release.
pub const RELEASE_LABEL: &str = "berth.dev/release";
/// Helm's ownership annotations, so a release stays adoptable by Helm.
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";

/// How an object is deleted (Helm's uninstall `--cascade` and `--wait`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deletion {
    pub cascade: Cascade,
    /// Wait (by watch) until the object is gone.
    pub wait: bool,
}

/// Kubernetes' propagation policy for an object's dependents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cascade {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl Cascade {
    /// Helm's `--cascade` values; its words for any other.
    pub fn parse(s: &str) -> Result<Cascade, String> {
        match s {
            "" | "background" => Ok(Cascade::Background),
            "foreground" => Ok(Cascade::Foreground),
            "orphan" => Ok(Cascade::Orphan),
            other => Err(format!(
                "invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\""
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot read kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("cannot configure the Kubernetes client: {0}")]
    Config(String),
    #[error(
        "resource mapping not found for {object}: no matches for kind {kind:?} in version {version:?}"
    )]
    UnknownKind {
        object: String,
        kind: String,
        version: String,
    },
    #[error("{object}: {message}")]
    Api {
        object: String,
        message: String,
        code: u16,
    },
    #[error("Kubernetes API: {0}")]
    Other(String),
}

/// An error with its causes: a connection failure says why ("client error
/// (Connect): invalid peer certificate: NotValidForName") where the error's
/// own text stops at "client error (Connect)". A cause whose text is
/// already in the line is not repeated.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

impl ClusterError {
    fn api(object: &ObjectRef, e: kube::Error) -> ClusterError {
        match e {
            kube::Error::Api(s) => ClusterError::Api {
                object: object.display(),
                message: s.message.clone(),
                code: s.code,
            },
            other => ClusterError::Api {
                object: object.display(),
                message: describe(&other),
                code: 0,
            },
        }
    }
}

/// The API groups kube-apiserver serves itself (never a CRD's), whose
/// kinds [`Cluster::serves`] trusts for [`SERVED_FOR`] once found.
const IN_TREE_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
    "internal.apiserver.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
];

/// How long a kind of an in-tree group found served is trusted.
const SERVED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Cluster {
    client: kube::Client,
    kinds: Mutex<HashMap<(String, String), (ApiResource, ApiCapabilities)>>,
    /// When [`Cluster::serves`] last asked discovery about a kind of
    /// Kubernetes' own groups and found it served.
    served_at: Mutex<HashMap<(String, String), std::time::Instant>>,
    capabilities: tokio::sync::Mutex<Option<helm::Capabilities>>,
    /// What berth's last apply of each object left ([`Settled`]).
    settled: Mutex<HashMap<Key, Settled>>,
}

/// An object as an operation found it before its first apply (None:
/// absent): what tells its apply's result apart, and the metadata an
/// ownership check reads. Not the object itself: a release of many large
/// objects would hold them all at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Before(Option<Found>);

#[derive(Debug, Clone, PartialEq)]
struct Found {
    resource_version: Option<String>,
    /// See [`Mine`].
    mine: Mine,
    /// Its namespace, labels and annotations.
    metadata: ObjectMeta,
    /// Set when nothing of berth's changed since berth's last apply of the
    /// same body ([`Settled`]): that apply's validation, and the object as
    /// read (Null unless the reader asked to keep it).
    settled: Option<(Validation, Value)>,
}

impl Before {
    /// `body`: what berth applies to it ([`owned_body`]); `settled`: what
    /// berth's last apply of it left, if this process made one; `keep`:
    /// keep the object read when that apply's result still holds (an
    /// apply not sent answers with it).
    fn of(
        found: Option<DynamicObject>,
        body: &Value,
        settled: Option<&Settled>,
        keep: bool,
    ) -> Before {
        Before(found.map(|mut o| {
            let mine = Mine::of(&o, body);
            let settled = settled.filter(|s| s.holds(&o, body, &mine)).map(|s| {
                let live = match keep {
                    true => live_value(&mut o),
                    false => Value::Null,
                };
                (s.validation, live)
            });
            Found {
                resource_version: o.metadata.resource_version.clone(),
                mine,
                metadata: ObjectMeta {
                    namespace: o.metadata.namespace.take(),
                    labels: o.metadata.labels.take(),
                    annotations: o.metadata.annotations.take(),
                    ..ObjectMeta::default()
                },
                settled,
            }
        }))
    }

    /// Its namespace, labels and annotations, as the metadata of the
    /// object's JSON (what an ownership check reads); None: absent.
    pub fn metadata(&self) -> Option<Value> {
        let found = self.0.as_ref()?;
        Some(serde_json::json!({ "metadata": serde_json::to_value(&found.metadata).ok()? }))
    }
}

/// An object whose deletion was asked for.
pub struct Deleting {
    api: Api<DynamicObject>,
    name: String,
    display: String,
    uid: String,
}

impl Deleting {
    /// Wait (by watch) until it is gone.
    pub async fn gone(self) -> Result<(), ClusterError> {
        kube::runtime::wait::await_condition(
            self.api,
            &self.name,
            kube::runtime::wait::conditions::is_deleted(&self.uid),
        )
        .await
        .map(|_| ())
        .map_err(|e| ClusterError::Other(format!("waiting for {} to go: {e}", self.display)))
    }
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub action: ApplyAction,
    /// The object as the API server returned it.
    pub live: Value,
    /// Namespace the object lives in ("" for cluster-scoped).
    pub namespace: String,
}

impl Cluster {
    /// Connect with a kubeconfig file, or with the in-cluster service account
    /// (or $KUBECONFIG / ~/.kube/config) when none is given.
    pub async fn connect(kubeconfig: Option<&Path>) -> Result<Cluster, ClusterError> {
        Cluster::connect_with(kubeconfig, Connections::default()).await
    }

    /// [`connect`](Self::connect), keeping connections as `connections` says.
    pub async fn connect_with(
        kubeconfig: Option<&Path>,
        connections: Connections,
    ) -> Result<Cluster, ClusterError> {
        let config = match kubeconfig {
            Some(path) => {
                // kube parses with serde-saphyr, whose errors carry a
                // source snippet below their first line: lines of the
                // file, which may hold a token.
                let kc = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                    ClusterError::Kubeconfig {
                        path: path.display().to_string(),
                        message: berth::manifest::yaml_error_line(&e.to_string()).to_string(),
                    }
                })?;
                kube::Config::from_custom_kubeconfig(kc, &Default::default())
                    .await
                    .map_err(|e| ClusterError::Kubeconfig {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?
            }
            None => kube::Config::infer().await.map_err(|e| {
                ClusterError::Config(berth::manifest::yaml_error_line(&e.to_string()).to_string())
            })?,
        };
        let client = client::client(config, connections)?;
        Ok(Cluster {
            client,
            kinds: Mutex::new(HashMap::new()),
            served_at: Mutex::new(HashMap::new()),
            capabilities: tokio::sync::Mutex::new(None),
            settled: Mutex::new(HashMap::new()),
        })
    }

    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// What discovery said of the object's kind, if it was asked already.
    fn cached_kind(&self, object: &ObjectRef) -> Option<(ApiResource, ApiCapabilities)> {
        let key = (object.api_version.clone(), object.kind.clone());
        self.kinds
            .lock()
            .expect("kind cache poisoned")
            .get(&key)
            .cloned()
    }

    /// Map apiVersion/kind to a resource, asking discovery once per kind.
    pub async fn resolve(
        &self,
        object: &ObjectRef,
    ) -> Result<(ApiResource, ApiCapabilities), ClusterError> {
        if let Some(hit) = self.cached_kind(object) {
            return Ok(hit);
        }
        let key = (object.api_version.clone(), object.kind.clone());
        let (group, version) = match object.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", object.api_version.as_str()),
        };
        let gvk = GroupVersionKind::gvk(group, version, &object.kind);
        let found = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .map_err(|e| match e {
                kube::Error::Api(s) if s.code == 404 => ClusterError::UnknownKind {
                    object: object.display(),
                    kind: object.kind.clone(),
                    version: object.api_version.clone(),
                },
                kube::Error::Discovery(_) => ClusterError::UnknownKind {
                    object: object.display(),
                    kind: object.kind.clone(),
                    version: object.api_version.clone(),
                },
                other => ClusterError::Api {
                    object: object.display(),
                    message: describe(&other),
                    code: 0,
                },
            })?;
        self.kinds
            .lock()
            .expect("kind cache poisoned")
            .insert(key, found.clone());
        Ok(found)
    }

    /// Whether the cluster serves the object's kind, asked afresh rather
    /// than from the cache: a CRD created or deleted since the cache filled
    /// counts. The answer refreshes the cache, so what a check found served
    /// is what the apply after it resolves.
    ///
    /// A kind of Kubernetes' own API groups found served in the last
    /// [`SERVED_FOR`] is not asked again: asking on every operation cost
    /// each agent of a fleet a discovery request per kind. Only the groups
    /// the API server itself serves count (`*.k8s.io` holds CRDs too, such
    /// as the Gateway API's, and aggregated APIs); the time bound covers a
    /// version a control-plane upgrade removed while berthd ran.
    pub async fn serves(&self, object: &ObjectRef) -> Result<bool, ClusterError> {
        let key = (object.api_version.clone(), object.kind.clone());
        let group = object.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let in_tree = IN_TREE_GROUPS.contains(&group);
        let fresh = in_tree
            && self
                .served_at
                .lock()
                .expect("served cache poisoned")
                .get(&key)
                .is_some_and(|at| at.elapsed() < SERVED_FOR);
        if fresh
            && self
                .kinds
                .lock()
                .expect("kind cache poisoned")
                .contains_key(&key)
        {
            return Ok(true);
        }
        self.kinds.lock().expect("kind cache poisoned").remove(&key);
        match self.resolve(object).await {
            Ok(_) => {
                if in_tree {
                    self.served_at
                        .lock()
                        .expect("served cache poisoned")
                        .insert(key, std::time::Instant::now());
                }
                Ok(true)
            }
            Err(ClusterError::UnknownKind { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The namespace an object lives in: its own, else the release's; none
    /// for cluster-scoped kinds.
    pub async fn namespace_of(
        &self,
        object: &ObjectRef,
        release_ns: &str,
    ) -> Result<String, ClusterError> {
        let (_, caps) = self.resolve(object).await?;
        Ok(match caps.scope {
            Scope::Cluster => String::new(),
            Scope::Namespaced if object.namespace.is_empty() => release_ns.to_string(),
            Scope::Namespaced => object.namespace.clone(),
        })
    }

    async fn api(
        &self,
        object: &ObjectRef,
        release_ns: &str,
    ) -> Result<(Api<DynamicObject>, String), ClusterError> {
        let (ar, caps) = self.resolve(object).await?;
        Ok(match caps.scope {
            Scope::Cluster => (Api::all_with(self.client.clone(), &ar), String::new()),
            Scope::Namespaced => {
                let ns = if object.namespace.is_empty() {
                    release_ns
                } else {
                    &object.namespace
                };
                (
                    Api::namespaced_with(self.client.clone(), ns, &ar),
                    ns.to_string(),
                )
            }
        })
    }

    /// Server-side apply one object as field manager `berth`, with the
    /// release's ownership label and annotations, taking over conflicting
    /// fields (force): the release is the source of truth for what it sets.
    /// `validation` is the request's `fieldValidation` (Helm v4 installs and
    /// upgrades with Strict, rolls back with Ignore); None: the server's
    /// default (Warn: unknown fields dropped).
    ///
    /// `before` is the object as read earlier by [`read_before`](Self::read_before);
    /// None: read it now.
    pub async fn apply(
        &self,
        obj: &Object,
        release: &str,
        release_ns: &str,
        validation: Option<ValidationDirective>,
        before: Option<Before>,
    ) -> Result<Applied, ClusterError> {
        let (api, ns) = self.api(&obj.object, release_ns).await?;
        let body = owned_body(obj, release, release_ns, &ns)?;
        let key = key_of(&obj.object, &ns);
        let before = match before {
            Some(b) => b,
            None => read(&api, &obj.object, &body, self.settled(&key).as_ref(), true).await?,
        };
        let validating = Validation::of(validation.as_ref());
        // The same body again, onto an object where nothing of berth's
        // changed since it was last applied: that apply would change
        // nothing, so it is not sent (what it would answer is the object
        // as read). Helm skips an update whose patch is empty likewise.
        let before = match before.0 {
            Some(Found {
                settled: Some((then, live)),
                ..
            }) if then.covers(validating) => {
                return Ok(Applied {
                    action: ApplyAction::Unchanged,
                    live,
                    namespace: ns,
                });
            }
            found => found,
        };
        let mut params = PatchParams::apply(FIELD_MANAGER).force();
        params.field_validation = validation;
        let mut after = api
            .patch(&obj.object.name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| ClusterError::api(&obj.object, e))?;
        let mine = Mine::of(&after, &body);
        let action = match before {
            None => ApplyAction::Created,
            Some(b) => {
                if b.resource_version == after.metadata.resource_version || b.mine == mine {
                    ApplyAction::Unchanged
                } else {
                    ApplyAction::Configured
                }
            }
        };
        self.settle(
            key,
            Settled {
                uid: after.metadata.uid.clone().unwrap_or_default(),
                body: digest_of(&body),
                validation: validating,
                mine,
            },
        );
        let live = live_value(&mut after);
        Ok(Applied {
            action,
            live,
            namespace: ns,
        })
    }

    /// The object as it is before an operation applies anything, read
    /// ahead of its apply, or None when its kind is not known yet (a custom
    /// resource whose definition the release creates first: its apply
    /// reads it then).
    ///
    /// `keep`: keep the object read if its apply is not to be sent (see
    /// [`Cluster::apply`]), as what that apply answers; a caller that does
    /// not look at an unchanged object's state (its readiness) saves the
    /// memory.
    pub async fn read_before(
        &self,
        obj: &Object,
        release: &str,
        release_ns: &str,
        keep: bool,
    ) -> Result<Option<Before>, ClusterError> {
        if self.cached_kind(&obj.object).is_none() {
            return Ok(None);
        }
        let (api, ns) = self.api(&obj.object, release_ns).await?;
        let body = owned_body(obj, release, release_ns, &ns)?;
        let settled = self.settled(&key_of(&obj.object, &ns));
        read(&api, &obj.object, &body, settled.as_ref(), keep)
            .await
            .map(Some)
    }

    /// What berth's last apply of the object left, if this process made one.
    fn settled(&self, key: &Key) -> Option<Settled> {
        let settled = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        settled.get(key).cloned()
    }

    fn forget(&self, key: &Key) {
        let mut all = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        all.remove(key);
    }

    fn settle(&self, key: Key, settled: Settled) {
        let mut all = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() >= SETTLED_MAX && !all.contains_key(&key) {
            all.clear();
        }
        all.insert(key, settled);
    }

    /// What applying the object would change: the live object (None if
    /// absent) and the server's dry-run result of the same apply, both
    /// without the fields the server manages.
    pub async fn dry_run_apply(
        &self,
        obj: &Object,
        release: &str,
        release_ns: &str,
        validation: Option<ValidationDirective>,
    ) -> Result<(Option<Value>, Value), ClusterError> {
        let (api, ns) = self.api(&obj.object, release_ns).await?;
        let body = owned_body(obj, release, release_ns, &ns)?;
        let live = api
            .get_opt(&obj.object.name)
            .await
            .map_err(|e| ClusterError::api(&obj.object, e))?;
        let mut params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        params.field_validation = validation;
        let desired = api
            .patch(&obj.object.name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| ClusterError::api(&obj.object, e))?;
        let clean = |o: &DynamicObject| -> Result<Value, ClusterError> {
            let mut v = serde_json::to_value(o).map_err(|e| ClusterError::Other(e.to_string()))?;
            without_server_fields(&mut v);
            Ok(v)
        };
        Ok((live.as_ref().map(clean).transpose()?, clean(&desired)?))
    }

    /// The live object as the server returns it, or None if absent.
    pub async fn get(
        &self,
        object: &ObjectRef,
        release_ns: &str,
    ) -> Result<Option<Value>, ClusterError> {
        let (api, _) = self.api(object, release_ns).await?;
        let live = api
            .get_opt(&object.name)
            .await
            .map_err(|e| ClusterError::api(object, e))?;
        live.map(|o| serde_json::to_value(&o).map_err(|e| ClusterError::Other(e.to_string())))
            .transpose()
    }

    /// The live object without server-managed fields, or None if absent.
    pub async fn live(
        &self,
        object: &ObjectRef,
        release_ns: &str,
    ) -> Result<Option<Value>, ClusterError> {
        let (api, _) = self.api(object, release_ns).await?;
        let live = api
            .get_opt(&object.name)
            .await
            .map_err(|e| ClusterError::api(object, e))?;
        Ok(live.map(|o| {
            let mut v = serde_json::to_value(&o).unwrap_or(Value::Null);
            without_server_fields(&mut v);
            v
        }))
    }

    /// Create an object as it is, or leave an existing one alone (how Helm
    /// installs `crds/`: never updated, no ownership marks).
    pub async fn create_if_absent(&self, obj: &Object) -> Result<ApplyAction, ClusterError> {
        let (api, _) = self.api(&obj.object, "").await?;
        let body: DynamicObject =
            serde_json::from_value(obj.body.clone()).map_err(|e| ClusterError::Api {
                object: obj.object.display(),
                message: format!("not a Kubernetes object: {e}"),
                code: 0,
            })?;
        match api.create(&PostParams::default(), &body).await {
            Ok(_) => Ok(ApplyAction::Created),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(ApplyAction::Unchanged),
            Err(e) => Err(ClusterError::api(&obj.object, e)),
        }
    }

    /// Create an object as it is in the namespace it names, else the
    /// release's (how Helm creates hook resources: no apply, no ownership
    /// marks, and fields the server does not know refused: Helm builds
    /// hooks validated). Returns the namespace it went to.
    pub async fn create(&self, obj: &Object, release_ns: &str) -> Result<String, ClusterError> {
        let (api, ns) = self.api(&obj.object, release_ns).await?;
        let mut body = obj.body.clone();
        if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            if ns.is_empty() {
                meta.remove("namespace");
            } else {
                meta.insert("namespace".into(), Value::String(ns.clone()));
            }
        }
        let body: DynamicObject = serde_json::from_value(body).map_err(|e| ClusterError::Api {
            object: obj.object.display(),
            message: format!("not a Kubernetes object: {e}"),
            code: 0,
        })?;
        // kube's create takes no fieldValidation: the same POST, with it.
        let data = serde_json::to_vec(&body).map_err(|e| ClusterError::Other(e.to_string()))?;
        let request = http::Request::post(format!("{}?fieldValidation=Strict", api.resource_url()))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(data)
            .map_err(|e| ClusterError::Other(e.to_string()))?;
        self.client
            .request::<DynamicObject>(request)
            .await
            .map_err(|e| ClusterError::api(&obj.object, e))?;
        Ok(ns)
    }

    /// Delete an object and wait (by watch) until it is gone; Ok(false)
    /// when there was nothing to delete.
    pub async fn delete_and_wait(
        &self,
        object: &ObjectRef,
        release_ns: &str,
    ) -> Result<bool, ClusterError> {
        let how = Deletion {
            wait: true,
            ..Deletion::default()
        };
        self.delete_with(object, release_ns, how).await
    }

    /// Delete an object as `how` says; Ok(false) when there was nothing to
    /// delete.
    pub async fn delete_with(
        &self,
        object: &ObjectRef,
        release_ns: &str,
        how: Deletion,
    ) -> Result<bool, ClusterError> {
        let Some(deleting) = self.start_delete(object, release_ns, how).await? else {
            return Ok(false);
        };
        if how.wait {
            deleting.gone().await?;
        }
        Ok(true)
    }

    /// Ask for an object's deletion as `how` says (not waiting for it to
    /// go), or None when there was nothing to delete. With `how.wait` its
    /// uid is read first, so that [`Deleting::gone`] waits for this object,
    /// not one made again under its name.
    pub async fn start_delete(
        &self,
        object: &ObjectRef,
        release_ns: &str,
        how: Deletion,
    ) -> Result<Option<Deleting>, ClusterError> {
        let Some((api, ns)) = self.api_if_served(object, release_ns).await? else {
            return Ok(None);
        };
        self.forget(&key_of(object, &ns));
        let uid = if how.wait {
            let Some(live) = api
                .get_opt(&object.name)
                .await
                .map_err(|e| ClusterError::api(object, e))?
            else {
                return Ok(None);
            };
            live.metadata.uid.unwrap_or_default()
        } else {
            String::new()
        };
        let params = match how.cascade {
            Cascade::Background => DeleteParams::background(),
            Cascade::Foreground => DeleteParams::foreground(),
            Cascade::Orphan => DeleteParams::orphan(),
        };
        match api.delete(&object.name, &params).await {
            Ok(_) => {}
            // Gone meanwhile: deleted, if it was there a moment ago.
            Err(kube::Error::Api(s)) if s.code == 404 && !how.wait => return Ok(None),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(ClusterError::api(object, e)),
        }
        Ok(Some(Deleting {
            api,
            name: object.name.clone(),
            display: object.display(),
            uid,
        }))
    }

    /// Wait (by watch) until the CustomResourceDefinition is Established.
    pub async fn crd_established(&self, name: &str) -> Result<(), ClusterError> {
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        kube::runtime::wait::await_condition(
            api,
            name,
            kube::runtime::wait::conditions::is_crd_established(),
        )
        .await
        .map(|_| ())
        .map_err(|e| ClusterError::Other(format!("waiting for CRD {name}: {e}")))
    }

    /// The name of a CRD in the cluster that defines the object's kind at
    /// its version, if one does (served or not yet: a CRD just created is
    /// not Established at once).
    pub async fn crd_defining(&self, object: &ObjectRef) -> Result<Option<String>, ClusterError> {
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
        let Some((group, version)) = object.api_version.split_once('/') else {
            return Ok(None);
        };
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let crds = api
            .list(&Default::default())
            .await
            .map_err(|e| ClusterError::api(object, e))?;
        Ok(crds
            .items
            .into_iter()
            .find(|c| {
                c.spec.group == group
                    && c.spec.names.kind == object.kind
                    && c.spec.versions.iter().any(|v| v.name == version)
            })
            .and_then(|c| c.metadata.name))
    }

    /// Delete an object (background propagation). Returns false when it was
    /// already gone.
    pub async fn delete(&self, object: &ObjectRef, release_ns: &str) -> Result<bool, ClusterError> {
        self.delete_with(object, release_ns, Deletion::default())
            .await
    }

    /// [`Cluster::api`] for an object to delete, or `None` when the cluster
    /// no longer serves its kind: then no object of it exists (deleting a
    /// CRD deletes its custom resources), and there is nothing to delete.
    /// An upgrade that prunes it, or an uninstall, goes on (Helm refuses
    /// the upgrade: "current release manifest contains removed kubernetes
    /// api(s)").
    async fn api_if_served(
        &self,
        object: &ObjectRef,
        release_ns: &str,
    ) -> Result<Option<(Api<DynamicObject>, String)>, ClusterError> {
        match self.api(object, release_ns).await {
            Ok(found) => Ok(Some(found)),
            Err(ClusterError::UnknownKind { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn namespace_exists(&self, ns: &str) -> Result<bool, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        let object = ns_ref(ns);
        Ok(api
            .get_opt(ns)
            .await
            .map_err(|e| ClusterError::api(&object, e))?
            .is_some())
    }

    /// `--create-namespace`: apply the namespace (idempotent).
    pub async fn ensure_namespace(&self, ns: &str) -> Result<ApplyAction, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        let object = ns_ref(ns);
        let before = api
            .get_opt(ns)
            .await
            .map_err(|e| ClusterError::api(&object, e))?;
        if before.is_some() {
            return Ok(ApplyAction::Unchanged);
        }
        let body =
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        api.patch(ns, &PatchParams::apply(FIELD_MANAGER), &Patch::Apply(&body))
            .await
            .map_err(|e| ClusterError::api(&object, e))?;
        Ok(ApplyAction::Created)
    }

    /// `.Capabilities` from the live cluster: its version and every
    /// group/version and group/version/kind it serves. Cached after the
    /// first call; refreshed by [`Cluster::forget_capabilities`].
    pub async fn capabilities(&self) -> Result<helm::Capabilities, ClusterError> {
        let mut cached = self.capabilities.lock().await;
        if let Some(c) = cached.as_ref() {
            return Ok(c.clone());
        }
        let version = self.client.apiserver_version().await.map_err(|e| {
            ClusterError::Other(format!("reading the server version: {}", describe(&e)))
        })?;
        let discovery = kube::Discovery::new(self.client.clone())
            .run_aggregated()
            .await
            .map_err(|e| ClusterError::Other(format!("discovery: {}", describe(&e))))?;
        let mut api_versions = Vec::new();
        for group in discovery.groups() {
            for v in group.versions() {
                let gv = if group.name().is_empty() {
                    v.to_string()
                } else {
                    format!("{}/{v}", group.name())
                };
                api_versions.push(gv.clone());
                for (ar, _) in group.versioned_resources(v) {
                    api_versions.push(format!("{gv}/{}", ar.kind));
                }
            }
        }
        api_versions.sort();
        api_versions.dedup();
        let caps = helm::Capabilities {
            kube_version: version.git_version.clone(),
            api_versions,
        };
        *cached = Some(caps.clone());
        Ok(caps)
    }

    pub async fn forget_capabilities(&self) {
        *self.capabilities.lock().await = None;
        self.kinds.lock().expect("kind cache poisoned").clear();
    }

    pub async fn server_version(&self) -> Result<String, ClusterError> {
        Ok(self
            .client
            .apiserver_version()
            .await
            .map_err(|e| ClusterError::Other(describe(&e)))?
            .git_version)
    }

    /// Helm's `lookup`: one object as a map, a list as `{items: [...]}`, or
    /// an empty map when nothing matches.
    pub async fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        let object = ObjectRef {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        let (ar, caps) = match self.resolve(&object).await {
            Ok(found) => found,
            Err(ClusterError::UnknownKind { .. }) => return Ok(Value::Object(Default::default())),
            Err(e) => return Err(e.to_string()),
        };
        let api: Api<DynamicObject> = match (caps.scope, namespace.is_empty()) {
            (Scope::Namespaced, false) => Api::namespaced_with(self.client.clone(), namespace, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        };
        if name.is_empty() {
            let list = api
                .list(&Default::default())
                .await
                .map_err(|e| describe(&e))?;
            let items: Vec<Value> = list
                .items
                .into_iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect();
            return Ok(
                serde_json::json!({"apiVersion": "v1", "kind": format!("{kind}List"), "items": items}),
            );
        }
        match api.get_opt(name).await.map_err(|e| describe(&e))? {
            Some(o) => serde_json::to_value(o).map_err(|e| e.to_string()),
            None => Ok(Value::Object(Default::default())),
        }
    }
}

fn ns_ref(ns: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: String::new(),
        name: ns.to_string(),
    }
}

fn set_entry(meta: &mut serde_json::Map<String, Value>, field: &str, key: &str, value: &str) {
    let entry = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Default::default()));
    if !entry.is_object() {
        *entry = Value::Object(Default::default());
    }
    if let Some(m) = entry.as_object_mut() {
        m.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// The template engine's `lookup`, answered from the live cluster. Rendering
/// runs on a blocking thread, so each call blocks on the runtime.
pub struct LiveLookup {
    pub cluster: std::sync::Arc<Cluster>,
    pub runtime: tokio::runtime::Handle,
}

impl helm::Lookup for LiveLookup {
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        self.runtime
            .block_on(self.cluster.lookup(api_version, kind, namespace, name))
    }
}

/// The object as it is now; `body` is what berth is about to apply (see
/// [`Before::of`]).
async fn read(
    api: &Api<DynamicObject>,
    obj: &ObjectRef,
    body: &Value,
    settled: Option<&Settled>,
    keep: bool,
) -> Result<Before, ClusterError> {
    api.get_opt(&obj.name)
        .await
        .map(|found| Before::of(found, body, settled, keep))
        .map_err(|e| ClusterError::api(obj, e))
}

/// An object's apiVersion, kind, namespace and name.
type Key = (String, String, String, String);

fn key_of(object: &ObjectRef, namespace: &str) -> Key {
    (
        object.api_version.clone(),
        object.kind.clone(),
        namespace.to_string(),
        object.name.clone(),
    )
}

/// How many objects' [`Settled`] a process keeps (~200 bytes each); past
/// it they are forgotten, and the next applies are sent.
const SETTLED_MAX: usize = 100_000;

/// What berth's last apply of an object left of berth's own: the object
/// (its uid), the body applied (a sha256 digest), its validation, and
/// [`Mine`] of the apply's response. Applying the same body again to the
/// same object where [`Mine`] is still that would change nothing: berth's
/// values are where they were and it owns the same fields (server-side
/// apply sets values and takes ownership, and a value it would set is
/// already set), so that apply is not sent. Held in memory only: after a
/// restart every object is applied once again.
#[derive(Debug, Clone, PartialEq)]
struct Settled {
    uid: String,
    body: [u8; 32],
    validation: Validation,
    mine: Mine,
}

impl Settled {
    /// Whether `o`, read now, is as berth's last apply of `body` left it.
    fn holds(&self, o: &DynamicObject, body: &Value, mine: &Mine) -> bool {
        // Without berth's managedFields entry (an API server that hides
        // them) ownership cannot be told: applied.
        mine.fields.is_some()
            && o.metadata.uid.as_deref() == Some(self.uid.as_str())
            && !self.uid.is_empty()
            && &self.mine == mine
            && self.body == digest_of(body)
    }
}

/// The field validation an apply asked for (`ValidationDirective`, which
/// does not compare).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Validation {
    Strict,
    Warn,
    Ignore,
    /// The server's default.
    Default,
}

impl Validation {
    fn of(v: Option<&ValidationDirective>) -> Validation {
        match v {
            Some(ValidationDirective::Strict) => Validation::Strict,
            Some(ValidationDirective::Warn) => Validation::Warn,
            Some(ValidationDirective::Ignore) => Validation::Ignore,
            None => Validation::Default,
        }
    }

    /// Whether a body that passed this validation passes `now`: anything
    /// passes Ignore, what passed Strict passes anything.
    fn covers(self, now: Validation) -> bool {
        self == now || self == Validation::Strict || now == Validation::Ignore
    }
}

fn digest_of(body: &Value) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(serde_json::to_vec(body).unwrap_or_default()).into()
}

/// What of an object is berth's to change, as two sha256 digests: the
/// values at the places berth's apply sets (the paths of its body: a map
/// is followed key by key, anything else compared whole), and the fields
/// berth's apply owns (its `managedFields` entry), which tell a field
/// berth stopped setting, or one it took back from another manager. An
/// apply changed nothing of its own when both are as they were: what
/// others wrote meanwhile does not count, as a Deployment's controller
/// writes its `deployment.kubernetes.io/revision` annotation and status
/// during a rollout, or a PersistentVolumeClaim's its volumeName.
#[derive(Debug, Clone, PartialEq)]
struct Mine {
    values: [u8; 32],
    fields: Option<[u8; 32]>,
}

impl Mine {
    fn of(o: &DynamicObject, body: &Value) -> Mine {
        use sha2::{Digest, Sha256};
        fn at(shape: &Value, value: Option<&Value>, h: &mut Sha256) {
            match (shape.as_object(), value) {
                (Some(shape), Some(Value::Object(value))) => {
                    for (k, s) in shape {
                        h.update(serde_json::to_vec(k).unwrap_or_default());
                        at(s, value.get(k), h);
                    }
                }
                _ => h.update(serde_json::to_vec(&value).unwrap_or_default()),
            }
        }
        let mut h = Sha256::new();
        // The metadata is the typed part of a DynamicObject, the rest its data.
        let shape = body.as_object();
        if let Some(meta) = shape.and_then(|b| b.get("metadata")) {
            // Without managedFields, the bulk of it, which no body sets.
            at(meta, serde_json::to_value(meta_of(o)).ok().as_ref(), &mut h);
        }
        for (k, s) in shape.into_iter().flatten() {
            if !matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
                h.update(serde_json::to_vec(k).unwrap_or_default());
                at(s, o.data.get(k), &mut h);
            }
        }
        let fields = o.metadata.managed_fields.iter().flatten().find(|f| {
            f.manager.as_deref() == Some(FIELD_MANAGER)
                && f.operation.as_deref() == Some("Apply")
                && f.subresource.as_deref().unwrap_or_default().is_empty()
        });
        Mine {
            values: h.finalize().into(),
            fields: fields.map(|f| {
                Sha256::digest(serde_json::to_vec(&f.fields_v1).unwrap_or_default()).into()
            }),
        }
    }
}

/// An object read or applied, as JSON for what judges its state (its
/// readiness), without its managedFields, which that does not read and
/// which are often the bulk of it (a watch's states are read so from the
/// start: `track::feeds::Live`).
fn live_value(o: &mut DynamicObject) -> Value {
    o.metadata.managed_fields = None;
    serde_json::to_value(&*o).unwrap_or(Value::Null)
}

/// An object's metadata but its managedFields, without copying those.
fn meta_of(o: &DynamicObject) -> ObjectMeta {
    let m = &o.metadata;
    ObjectMeta {
        annotations: m.annotations.clone(),
        creation_timestamp: m.creation_timestamp.clone(),
        deletion_grace_period_seconds: m.deletion_grace_period_seconds,
        deletion_timestamp: m.deletion_timestamp.clone(),
        finalizers: m.finalizers.clone(),
        generate_name: m.generate_name.clone(),
        generation: m.generation,
        labels: m.labels.clone(),
        managed_fields: None,
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        owner_references: m.owner_references.clone(),
        resource_version: m.resource_version.clone(),
        self_link: m.self_link.clone(),
        uid: m.uid.clone(),
    }
}

/// The body berth applies: the rendered object in its namespace, with the
/// release's ownership label and annotations.
fn owned_body(
    obj: &Object,
    release: &str,
    release_ns: &str,
    ns: &str,
) -> Result<Value, ClusterError> {
    let mut body = obj.body.clone();
    let meta = body
        .as_object_mut()
        .and_then(|b| {
            b.entry("metadata")
                .or_insert_with(|| Value::Object(Default::default()))
                .as_object_mut()
        })
        .ok_or_else(|| ClusterError::Api {
            object: obj.object.display(),
            message: "metadata must be a map".into(),
            code: 0,
        })?;
    if ns.is_empty() {
        meta.remove("namespace");
    } else {
        meta.insert("namespace".into(), Value::String(ns.to_string()));
    }
    meta.remove("managedFields");
    meta.remove("resourceVersion");
    set_entry(meta, "labels", RELEASE_LABEL, release);
    set_entry(meta, "annotations", RELEASE_NAME_ANNOTATION, release);
    set_entry(
        meta,
        "annotations",
        RELEASE_NAMESPACE_ANNOTATION,
        release_ns,
    );
    Ok(body)
}

/// Drop what the server writes on its own (status, bookkeeping metadata),
/// so a diff shows only what the release decides.
fn without_server_fields(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
        if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "managedFields",
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
                "selfLink",
            ] {
                m.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Before, Mine, Settled, Validation, describe, digest_of};
    use kube::api::DynamicObject;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn an_error_is_described_with_its_causes_each_once() {
        let e = Layer(
            "ServiceError: client error (Connect)",
            Some(Box::new(Layer(
                "client error (Connect)",
                Some(Box::new(Layer("invalid peer certificate: Expired", None))),
            ))),
        );
        assert_eq!(
            describe(&e),
            "ServiceError: client error (Connect): invalid peer certificate: Expired"
        );
        assert_eq!(describe(&Layer("alone", None)), "alone");
    }

    fn object(v: serde_json::Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn an_apply_changed_something_only_where_it_sets_or_owns_fields() {
        // What berth applies, and the Deployment as its apply left it.
        let body = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"a": "1"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}}}
        });
        let mine = serde_json::json!({"f:metadata": {"f:labels": {"f:a": {}}},
                                      "f:spec": {"f:replicas": {}}});
        let live = serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7",
                         "labels": {"a": "1"}, "annotations": {"b": "2"},
                         "managedFields": [
                             {"manager": "berth", "operation": "Apply", "fieldsV1": mine},
                             {"manager": "berth", "operation": "Apply", "subresource": "status",
                              "fieldsV1": {"f:status": {}}}]},
            "spec": {"replicas": 2, "paused": false,
                     "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
            "status": {"replicas": 1}
        });
        let before = Before::of(Some(object(live.clone())), &body, None, false)
            .0
            .unwrap();
        let changed = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut after = live.clone();
            after["metadata"]["resourceVersion"] = "9".into();
            edit(&mut after);
            before.mine != Mine::of(&object(after), &body)
        };

        // What others wrote meanwhile: the controller's status and revision
        // annotation, a label and a field berth does not set, another
        // manager's entry, berth's own entry for the status.
        assert!(!changed(&|_| ()));
        assert!(!changed(&|o| o["status"]["replicas"] = 2.into()));
        assert!(!changed(&|o| {
            o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "2".into()
        }));
        assert!(!changed(&|o| o["metadata"]["labels"]["other"] = "x".into()));
        assert!(!changed(&|o| o["spec"]["paused"] = true.into()));
        assert!(!changed(&|o| {
            let fields = o["metadata"]["managedFields"].as_array_mut().unwrap();
            fields.push(
                serde_json::json!({"manager": "kubectl", "operation": "Update",
                                           "fieldsV1": {"f:spec": {"f:paused": {}}}}),
            );
            fields[1]["fieldsV1"] = serde_json::json!({"f:status": {"f:replicas": {}}});
        }));

        // Where berth's apply sets values: a map by its keys, a list whole.
        assert!(changed(&|o| o["spec"]["replicas"] = 3.into()));
        assert!(changed(&|o| o["metadata"]["labels"]["a"] = "2".into()));
        assert!(changed(&|o| {
            o["spec"]["template"]["spec"]["containers"][0]["image"] = "j".into()
        }));
        // The fields it owns: one it stopped setting, one it took back.
        assert!(changed(&|o| {
            o["metadata"]["managedFields"][0]["fieldsV1"] =
                serde_json::json!({"f:spec": {"f:replicas": {}}})
        }));
        assert!(changed(&|o| {
            o["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:paused"] =
                serde_json::json!({})
        }));

        // What an ownership check reads: the metadata only.
        assert_eq!(
            Before::of(Some(object(live)), &body, None, false).metadata(),
            Some(serde_json::json!({"metadata": {
                "namespace": "ns", "labels": {"a": "1"}, "annotations": {"b": "2"}
            }}))
        );
        assert_eq!(Before::of(None, &body, None, false).metadata(), None);
    }

    #[test]
    fn an_apply_is_not_sent_only_where_berths_last_apply_of_the_same_body_still_holds() {
        let body = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "1"}
        });
        let live = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "ns", "uid": "u1", "resourceVersion": "5",
                         "managedFields": [{"manager": "berth", "operation": "Apply",
                                            "fieldsV1": {"f:data": {"f:a": {}}}}]},
            "data": {"a": "1"}
        });
        let settled = Settled {
            uid: "u1".into(),
            body: digest_of(&body),
            validation: Validation::Strict,
            mine: Mine::of(&object(live.clone()), &body),
        };
        let holds = |live: &serde_json::Value, body: &serde_json::Value| {
            let found = Before::of(Some(object(live.clone())), body, Some(&settled), true).0;
            found.unwrap().settled.map(|(_, kept)| kept)
        };
        // As left, others' writes aside: not sent, the object read its
        // answer (without managedFields, which no judge of its state reads).
        let mut others = live.clone();
        others["metadata"]["labels"] = serde_json::json!({"x": "y"});
        others["data"]["b"] = "2".into();
        let mut answer = live.clone();
        answer["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        assert_eq!(holds(&live, &body), Some(answer));
        assert!(holds(&others, &body).is_some());
        // Sent: another body, a value of berth's changed, the fields berth
        // owns changed, an object made again, no managedFields to tell.
        let mut other_body = body.clone();
        other_body["data"]["a"] = "2".into();
        assert_eq!(holds(&live, &other_body), None);
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut o = live.clone();
            f(&mut o);
            holds(&o, &body)
        };
        assert_eq!(edit(&|o| o["data"]["a"] = "3".into()), None);
        assert_eq!(
            edit(&|o| o["metadata"]["managedFields"][0]["fieldsV1"] = serde_json::json!({})),
            None
        );
        assert_eq!(edit(&|o| o["metadata"]["uid"] = "u2".into()), None);
        assert_eq!(
            edit(&|o| {
                o["metadata"]
                    .as_object_mut()
                    .unwrap()
                    .remove("managedFields");
            }),
            None
        );
        // Not kept unless asked.
        let found = Before::of(Some(object(live.clone())), &body, Some(&settled), false).0;
        assert_eq!(
            found.unwrap().settled,
            Some((Validation::Strict, serde_json::Value::Null))
        );

        // What passed a validation passes another only if it was as strict.
        use Validation::*;
        assert!(Strict.covers(Strict) && Strict.covers(Warn) && Strict.covers(Default));
        assert!(Warn.covers(Ignore) && Default.covers(Default) && Ignore.covers(Ignore));
        assert!(!Ignore.covers(Strict) && !Warn.covers(Strict) && !Default.covers(Warn));
    }
}
