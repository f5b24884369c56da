//! A chart's dependencies, managed as Helm manages them: `dependency
//! update` resolves Chart.yaml's version constraints against the
//! repositories (Helm's repositories.yaml and cached indexes, repository
//! URLs, `@name` aliases, `file://` directories, `oci://` registries),
//! downloads the charts into charts/ and writes Chart.lock; `dependency
//! build` downloads what Chart.lock names, refusing a lock that no longer
//! matches Chart.yaml; `dependency list` shows what charts/ holds of each.
//! Sources: pkg/downloader/manager.go, internal/resolver/resolver.go and
//! pkg/action/dependency.go of Helm v4.
//!
//! Chart.lock's digest is Helm's `HashReq`, the sha256 of Go's JSON of
//! Chart.yaml's dependencies and the locked ones, so a lock berth writes
//! is one Helm's `dependency build` takes, and the other way round.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use berth::chart::{self, Limits};
use berth_template::funcs::semver::{Constraints, Version};
use berth_template::gofmt::quote;
use serde_json::Value;

use super::{AccessFlags, Index, RepoEntry};
use crate::CliError;

/// The name the dependency manager gives a repository nobody added, before
/// the sha256 of its URL (Helm's managerKeyPrefix).
pub const MANAGER_PREFIX: &str = "helm-manager-";

/// One dependency, as Helm's `chart.Dependency` holds it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub import_values: Vec<Value>,
    pub alias: String,
}

impl Dependency {
    /// From a dependency of the chart's metadata (checked and sanitized by
    /// the chart loader) or of Chart.lock.
    pub fn from_json(v: &Value) -> Dependency {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Dependency {
            name: s("name"),
            version: s("version"),
            repository: s("repository"),
            condition: s("condition"),
            tags: v
                .get("tags")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            enabled: v.get("enabled").and_then(Value::as_bool).unwrap_or(false),
            import_values: v
                .get("import-values")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            alias: s("alias"),
        }
    }

    fn locked(name: &str, repository: &str, version: &str) -> Dependency {
        Dependency {
            name: name.into(),
            repository: repository.into(),
            version: version.into(),
            ..Dependency::default()
        }
    }

    /// The fields Go's `json.Marshal` writes of the struct, in its order,
    /// those tagged `omitempty` left out when empty.
    fn go_fields(&self) -> Vec<(&'static str, Value)> {
        let mut f = vec![("name", Value::from(self.name.as_str()))];
        if !self.version.is_empty() {
            f.push(("version", self.version.as_str().into()));
        }
        f.push(("repository", self.repository.as_str().into()));
        if !self.condition.is_empty() {
            f.push(("condition", self.condition.as_str().into()));
        }
        if !self.tags.is_empty() {
            f.push(("tags", self.tags.clone().into()));
        }
        if self.enabled {
            f.push(("enabled", true.into()));
        }
        if !self.import_values.is_empty() {
            f.push(("import-values", Value::Array(self.import_values.clone())));
        }
        if !self.alias.is_empty() {
            f.push(("alias", self.alias.as_str().into()));
        }
        f
    }

    /// Go's `json.Marshal` of the struct: its field order, `omitempty`,
    /// HTML-safe escapes.
    fn go_json(&self) -> String {
        let fields: Vec<String> = self
            .go_fields()
            .iter()
            .map(|(k, v)| format!("{}:{}", go_json(&Value::from(*k)), go_json(v)))
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    /// The struct as its JSON (and so sigs.k8s.io/yaml) holds it.
    pub fn to_go_value(&self) -> Value {
        Value::Object(
            self.go_fields()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
}

fn go_json(v: &Value) -> String {
    crate::output::go_json(v).unwrap_or_default()
}

fn go_list(deps: Option<&[Dependency]>) -> String {
    match deps {
        None => "null".into(),
        Some(d) => format!(
            "[{}]",
            d.iter()
                .map(Dependency::go_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn sha256(text: &str) -> String {
    format!("sha256:{}", berth::chart::sha256_hex(text.as_bytes()))
}

/// Helm's `HashReq`: Chart.lock's digest of the requested and the locked
/// dependencies.
pub fn hash_req(req: Option<&[Dependency]>, lock: Option<&[Dependency]>) -> String {
    sha256(&format!("[{},{}]", go_list(req), go_list(lock)))
}

/// Helm's `HashV2Req`: the digest Helm 2 wrote into requirements.lock.
fn hash_v2_req(req: Option<&[Dependency]>) -> String {
    sha256(&format!("{{\"dependencies\":{}}}", go_list(req)))
}

/// Chart.lock (or a v1 chart's requirements.lock).
struct Lock {
    digest: String,
    dependencies: Option<Vec<Dependency>>,
}

/// An unpacked chart whose dependencies are managed.
struct ChartDir {
    path: PathBuf,
    /// Chart.yaml's dependencies (`None`: the chart names none).
    req: Option<Vec<Dependency>>,
    lock: Option<Lock>,
    v1: bool,
}

fn other(e: impl std::fmt::Display) -> CliError {
    CliError::Other(e.to_string())
}

fn dependencies_of(metadata: &Value) -> Option<Vec<Dependency>> {
    metadata
        .get("dependencies")
        .and_then(Value::as_array)
        .map(|d| d.iter().map(Dependency::from_json).collect())
}

impl ChartDir {
    /// Helm's `loadChartDir`: the chart must be a directory, and load.
    fn load(path: &Path) -> Result<ChartDir, CliError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| other(format!("could not find {}: {e}", path.display())))?;
        if !meta.is_dir() {
            return Err(other("only unpacked charts can be updated"));
        }
        let limits = Limits::default();
        let files = chart::load_dir(path, &limits)?;
        let loaded = chart::build(&files, &limits)?;
        let lock = ["Chart.lock", "requirements.lock"]
            .iter()
            .find_map(|n| files.iter().find(|f| f.name == *n))
            .map(|f| {
                // The loader has read it already: only its shape is known good.
                let text = String::from_utf8_lossy(&f.data);
                let v = berth_template::yaml::parse_document_ints(&text).unwrap_or(Value::Null);
                Lock {
                    digest: v
                        .get("digest")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    dependencies: dependencies_of(&v),
                }
            });
        Ok(ChartDir {
            path: path.to_path_buf(),
            req: dependencies_of(&loaded.chart.metadata),
            lock,
            v1: loaded.metadata.api_version == "v1",
        })
    }

    fn lock_file(&self) -> &'static str {
        if self.v1 {
            "requirements.lock"
        } else {
            "Chart.lock"
        }
    }
}

/// Helm's dependency manager for one chart directory.
pub struct Manager<'a> {
    pub chart_path: PathBuf,
    /// Do not refresh the cached repository indexes first.
    pub skip_refresh: bool,
    /// Credentials and TLS settings for oci:// registries (the `dependency`
    /// commands' flags); chart repositories use repositories.yaml's.
    pub access: AccessFlags,
    /// `--verify`: check each chart downloaded from a repository against
    /// its provenance with this keyring.
    pub verify: Option<PathBuf>,
    pub out: &'a mut (dyn Write + Send),
}

impl Manager<'_> {
    /// `helm dependency update`: resolve, download into charts/, write the lock.
    pub async fn update(&mut self) -> Result<(), CliError> {
        let c = ChartDir::load(&self.chart_path)?;
        let Some(mut req) = c.req.clone() else {
            return Ok(());
        };
        let repos = configured_repositories()?;
        let mut repo_names = self.resolve_repo_names(&mut req, &repos)?;
        self.ensure_missing_repos(&mut repo_names, &req).await?;
        if !self.skip_refresh {
            self.update_repositories(&repos).await?;
        }
        let mut resolved = self.resolve(&req, &repo_names).await?;
        self.download_all(&mut resolved, &repos).await?;
        // Downloading may have settled a file:// version: digest after it.
        let digest = hash_req(Some(&req), Some(&resolved.locked));
        if c.lock.as_ref().is_some_and(|l| l.digest == digest) {
            return Ok(());
        }
        write_lock(&c, &resolved.locked, &digest)
    }

    /// `helm dependency build`: download what the lock names (an update
    /// when there is no lock).
    pub async fn build(&mut self) -> Result<(), CliError> {
        let c = ChartDir::load(&self.chart_path)?;
        let Some(lock) = &c.lock else {
            return self.update().await;
        };
        let mut req = c.req.clone();
        // Helm 2 hashed the requirements before aliases were resolved.
        let v2_sum = c.v1.then(|| hash_v2_req(req.as_deref()));
        let repos = configured_repositories()?;
        if let Some(req) = &mut req {
            self.resolve_repo_names(req, &repos)?;
        }
        if hash_req(req.as_deref(), lock.dependencies.as_deref()) != lock.digest {
            if c.v1 {
                if v2_sum.as_deref() != Some(lock.digest.as_str()) {
                    return Err(other(
                        "the lock file (requirements.lock) is out of sync with the dependencies file (requirements.yaml). Please update the dependencies",
                    ));
                }
            } else {
                return Err(other(
                    "the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). Please update the dependencies with 'berth dependency update'",
                ));
            }
        }
        let locked = lock.dependencies.clone().unwrap_or_default();
        has_all_repos(&locked, &repos)?;
        if !self.skip_refresh {
            self.update_repositories(&repos).await?;
        }
        let mut resolved = Resolved {
            locked,
            pulled: HashMap::new(),
        };
        self.download_all(&mut resolved, &repos).await
    }

    /// Helm's `resolveRepoNames`: the configured repository of each
    /// dependency (by URL, or `@name` / `alias:name`, which become the
    /// repository's URL), keyed by the dependency's name.
    fn resolve_repo_names(
        &mut self,
        req: &mut [Dependency],
        repos: &[RepoEntry],
    ) -> Result<HashMap<String, String>, CliError> {
        let mut names = HashMap::new();
        let mut missing = Vec::new();
        for d in req.iter_mut() {
            if d.repository.is_empty() {
                continue;
            }
            if d.repository.starts_with("file://") {
                local_path(&d.repository, &self.chart_path)?;
                names.insert(d.name.clone(), d.repository.clone());
                continue;
            }
            if d.repository.starts_with("oci://") {
                names.insert(d.name.clone(), d.repository.clone());
                continue;
            }
            let alias = d
                .repository
                .strip_prefix('@')
                .or_else(|| d.repository.strip_prefix("alias:"));
            let found = repos.iter().find(|r| match alias {
                Some(a) => a == r.name,
                None => same_url(&r.url, &d.repository),
            });
            match found {
                Some(r) => {
                    if alias.is_some() {
                        d.repository = r.url.clone();
                    }
                    names.insert(d.name.clone(), r.name.clone());
                }
                None if is_request_uri(&d.repository) => {
                    // Helm keys these by the URL: ensure_missing_repos names them.
                    names.insert(d.repository.clone(), d.repository.clone());
                }
                None => missing.push(d.repository.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(names);
        }
        let mut message = format!(
            "no repository definition for {}. Please add them via 'berth repo add'",
            missing.join(", ")
        );
        if missing
            .iter()
            .any(|r| !r.contains("//") && !r.starts_with('@') && !r.starts_with("alias:"))
        {
            message += "\nNote that repositories must be URLs or aliases. For example, to refer to the \"example\"\nrepository, use \"https://charts.example.com/\" or \"@example\" instead of\n\"example\". Don't forget to add the repo, too ('berth repo add').";
        }
        Err(other(message))
    }

    /// Helm's `ensureMissingRepos`: a repository given by a URL nobody added
    /// is cached under a name of its own (`helm-manager-<sha256 of the URL>`).
    async fn ensure_missing_repos(
        &mut self,
        names: &mut HashMap<String, String>,
        req: &[Dependency],
    ) -> Result<(), CliError> {
        let mut unmanaged = Vec::new();
        for d in req {
            if d.repository.is_empty() || names.contains_key(&d.name) {
                continue;
            }
            let name = format!(
                "{MANAGER_PREFIX}{}",
                berth::chart::sha256_hex(d.repository.as_bytes())
            );
            names.insert(d.name.clone(), name.clone());
            unmanaged.push(RepoEntry {
                name,
                url: d.repository.clone(),
                ..RepoEntry::default()
            });
        }
        if self.skip_refresh || unmanaged.is_empty() {
            return Ok(());
        }
        writeln!(
            self.out,
            "Getting updates for unmanaged Helm repositories..."
        )?;
        super::refresh(&dedupe(unmanaged), super::INDEX_TIMEOUT, &mut *self.out).await?;
        Ok(())
    }

    /// Helm's `UpdateRepositories`: refresh every configured repository's
    /// index; one that fails is reported, not fatal.
    async fn update_repositories(&mut self, repos: &[RepoEntry]) -> Result<(), CliError> {
        if repos.is_empty() {
            return Ok(());
        }
        writeln!(
            self.out,
            "Hang tight while we grab the latest from your chart repositories..."
        )?;
        // One that fails is reported, not fatal.
        super::refresh(
            &dedupe(repos.to_vec()),
            super::INDEX_TIMEOUT,
            &mut *self.out,
        )
        .await?;
        writeln!(self.out, "Update Complete. ⎈Happy Helming!⎈")?;
        Ok(())
    }

    /// Helm's resolver: the version of each dependency that satisfies its
    /// constraint, the newest one a repository has.
    async fn resolve(
        &mut self,
        req: &[Dependency],
        repo_names: &HashMap<String, String>,
    ) -> Result<Resolved, CliError> {
        let mut resolved = Resolved {
            locked: Vec::new(),
            pulled: HashMap::new(),
        };
        let mut missing = Vec::new();
        for d in req {
            let constraint = Constraints::parse(&d.version).map_err(|e| {
                other(format!(
                    "dependency {} has an invalid version/constraint format: {e}",
                    quote(&d.name)
                ))
            })?;
            let mut miss = || {
                missing.push(format!(
                    "{} (repository {}, version {})",
                    quote(&d.name),
                    quote(&d.repository),
                    quote(&d.version)
                ))
            };
            if d.repository.is_empty() {
                local_path(&format!("charts/{}", d.name), &self.chart_path)?;
                resolved
                    .locked
                    .push(Dependency::locked(&d.name, "", &d.version));
                continue;
            }
            if d.repository.starts_with("file://") {
                let dir = local_path(&d.repository, &self.chart_path)?;
                let version = local_version(&dir)?;
                match Version::parse(&version) {
                    Ok(v) if constraint.check(&v) => {
                        resolved
                            .locked
                            .push(Dependency::locked(&d.name, &d.repository, &version))
                    }
                    _ => miss(),
                }
                continue;
            }
            if d.repository.starts_with("oci://") {
                // The registry's newest tag the constraint takes (or the
                // version itself): pulled now, kept for the download.
                let reference = format!("{}/{}", d.repository.trim_end_matches('/'), d.name);
                let pulled = super::oci::pull(&reference, &d.version, &self.access)
                    .await
                    .map_err(|e| {
                        other(format!(
                            "could not retrieve {} for repository {}: {e}",
                            d.name, d.repository
                        ))
                    })?;
                let version = pulled
                    .file
                    .strip_prefix(&format!("{}-", d.name))
                    .and_then(|f| f.strip_suffix(".tgz"))
                    .unwrap_or(&d.version)
                    .to_string();
                resolved.pulled.insert(d.name.clone(), pulled);
                resolved
                    .locked
                    .push(Dependency::locked(&d.name, &d.repository, &version));
                continue;
            }
            let repo_name = repo_names.get(&d.name).cloned().unwrap_or_default();
            if repo_name.is_empty() {
                resolved
                    .locked
                    .push(Dependency::locked(&d.name, &d.repository, &d.version));
                continue;
            }
            let index = read_cached_index(&repo_name)?;
            let versions = index.entries.get(&d.name).ok_or_else(|| {
                other(format!(
                    "{} chart not found in repo {}",
                    d.name, d.repository
                ))
            })?;
            let found = versions.iter().flatten().find(|v| {
                !v.urls.is_empty() && Version::parse(&v.version).is_ok_and(|x| constraint.check(&x))
            });
            match found {
                Some(v) => {
                    resolved
                        .locked
                        .push(Dependency::locked(&d.name, &d.repository, &v.version))
                }
                None => {
                    miss();
                    resolved
                        .locked
                        .push(Dependency::locked(&d.name, &d.repository, ""));
                }
            }
        }
        if !missing.is_empty() {
            return Err(other(format!(
                "can't get a valid version for {} subchart(s): {}. Make sure a matching chart version exists in the repo, or change the version constraint in Chart.yaml",
                missing.len(),
                missing.join(", ")
            )));
        }
        Ok(resolved)
    }

    /// Helm's `downloadAll`: every dependency into a temporary directory
    /// beside charts/, then moved in, and what charts/ held of older
    /// versions removed. Nothing in charts/ changes if one fails.
    async fn download_all(
        &mut self,
        resolved: &mut Resolved,
        repos: &[RepoEntry],
    ) -> Result<(), CliError> {
        let dest = self.chart_path.join("charts");
        match std::fs::metadata(&dest) {
            Ok(m) if !m.is_dir() => {
                return Err(other(format!("{:?} is not a directory", dest.display())));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(&dest)?,
            Err(e) => {
                return Err(other(format!(
                    "unable to retrieve file info for '{}': {e}",
                    dest.display()
                )));
            }
        }
        let tmp = tempfile::Builder::new()
            .prefix(&format!("tmpcharts-{}", std::process::id()))
            .tempdir_in(&self.chart_path)?;
        writeln!(self.out, "Saving {} charts", resolved.locked.len())?;
        let mut downloaded = HashSet::new();
        let mut failure = None;
        for i in 0..resolved.locked.len() {
            match self
                .download_one(resolved, i, repos, tmp.path(), &mut downloaded)
                .await
            {
                Ok(()) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            writeln!(self.out, "Save error occurred:  {e}")?;
            return Err(e);
        }
        self.safe_move(&resolved.locked, tmp.path(), &dest)
    }

    async fn download_one(
        &mut self,
        resolved: &mut Resolved,
        i: usize,
        repos: &[RepoEntry],
        tmp: &Path,
        downloaded: &mut HashSet<String>,
    ) -> Result<(), CliError> {
        let dep = resolved.locked[i].clone();
        if dep.repository.is_empty() {
            writeln!(
                self.out,
                "Dependency {} did not declare a repository. Assuming it exists in the charts directory",
                dep.name
            )?;
            let dir = self.chart_path.join("charts").join(&dep.name);
            let version = local_version(&dir)
                .map_err(|e| other(format!("unable to load chart '{}': {e}", dir.display())))?;
            let constraint = Constraints::parse(&dep.version).map_err(|e| {
                other(format!(
                    "dependency {} has an invalid version/constraint format: {e}",
                    dep.name
                ))
            })?;
            let v = Version::parse(&version).map_err(|e| {
                other(format!(
                    "invalid version {} for dependency {}: {e}",
                    dep.version, dep.name
                ))
            })?;
            if !constraint.check(&v) {
                return Err(other(format!(
                    "dependency {} at version {version} does not satisfy the constraint {}",
                    dep.name, dep.version
                )));
            }
            return Ok(());
        }
        if dep.repository.starts_with("file://") {
            // Packed from its directory, as Helm's tarFromLocalDir does.
            let dir = local_path(&dep.repository, &self.chart_path)?;
            let saved = super::save::save(&dir, None, None)?;
            let constraint = Constraints::parse(&dep.version).map_err(|e| {
                other(format!(
                    "dependency {} has an invalid version/constraint format: {e}",
                    dep.name
                ))
            })?;
            if !Version::parse(&saved.version).is_ok_and(|v| constraint.check(&v)) {
                return Err(other(format!(
                    "can't get a valid version for dependency {}",
                    dep.name
                )));
            }
            std::fs::write(
                tmp.join(format!("{}-{}.tgz", saved.name, saved.version)),
                &saved.bytes,
            )?;
            resolved.locked[i].version = saved.version;
            return Ok(());
        }
        if dep.repository.starts_with("oci://") {
            writeln!(
                self.out,
                "Downloading {} from repo {}",
                dep.name, dep.repository
            )?;
            let reference = format!("{}/{}", dep.repository.trim_end_matches('/'), dep.name);
            let pulled = match (resolved.pulled.remove(&dep.name), &self.verify) {
                (Some(pulled), None) => pulled,
                (_, None) => super::oci::pull(&reference, &dep.version, &self.access).await?,
                (_, Some(keyring)) => {
                    let pulled =
                        super::oci::pull_with(&reference, &dep.version, &self.access, true).await?;
                    let prov = pulled.prov.as_deref().unwrap_or_default();
                    Self::check_provenance(&pulled.data, &pulled.file, prov, keyring)
                        .map_err(|e| other(format!("could not download {reference}: {e}")))?;
                    pulled
                }
            };
            pulled.report.write(&mut *self.out)?;
            let (bytes, file) = (pulled.data, pulled.file);
            std::fs::write(tmp.join(file), bytes)?;
            return Ok(());
        }
        let (url, auth, tls, digest) =
            find_chart_url(&dep.name, &dep.version, &dep.repository, repos)
                .await
                .map_err(|e| other(format!("could not find {}: {e}", dep.name)))?;
        if !downloaded.insert(url.clone()) {
            writeln!(
                self.out,
                "Already downloaded {} from repo {}",
                dep.name, dep.repository
            )?;
            return Ok(());
        }
        writeln!(
            self.out,
            "Downloading {} from repo {}",
            dep.name, dep.repository
        )?;
        // Helm's downloader reads a chart its index gives a digest from the
        // content cache when it is there.
        let download = super::get(&url, auth.clone(), &tls, Limits::default().max_packed);
        let bytes = super::content_cache::or_fetch(digest, download)
            .await
            .map_err(|e| other(format!("could not download {url}: {e}")))?;
        let file = url
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .filter(|f| !f.is_empty() && *f != "." && *f != "..")
            .unwrap_or("chart.tgz");
        if let Some(keyring) = &self.verify {
            // Helm's ChartDownloader: the .prov beside the chart, checked
            // before the chart is kept.
            let prov_url = format!("{url}.prov");
            let prov = super::get(&prov_url, auth, &tls, 1 << 20)
                .await
                .map_err(|_| {
                    other(format!(
                        "could not download {url}: failed to fetch provenance {prov_url:?}"
                    ))
                })?;
            Self::check_provenance(&bytes, file, &prov, keyring)
                .map_err(|e| other(format!("could not download {url}: {e}")))?;
        }
        std::fs::write(tmp.join(file), bytes)?;
        Ok(())
    }

    /// A downloaded chart `file` checked against its provenance `prov`, as
    /// Helm's downloader checks them side by side.
    fn check_provenance(
        bytes: &[u8],
        file: &str,
        prov: &[u8],
        keyring: &Path,
    ) -> Result<(), CliError> {
        let dir = tempfile::tempdir()?;
        let archive = dir.path().join(file);
        let prov_file = dir.path().join(format!("{file}.prov"));
        std::fs::write(&archive, bytes)?;
        std::fs::write(&prov_file, prov)?;
        super::provenance::verify(&archive, &prov_file, keyring).map(drop)
    }

    /// Helm's `safeMoveDeps`: the charts that load are moved into charts/;
    /// archives there that are no longer wanted (and not a dependency kept
    /// in charts/ itself) are removed.
    fn safe_move(
        &mut self,
        deps: &[Dependency],
        source: &Path,
        dest: &Path,
    ) -> Result<(), CliError> {
        let local: HashSet<&str> = deps
            .iter()
            .filter(|d| d.repository.is_empty())
            .map(|d| d.name.as_str())
            .collect();
        let dest_files = sorted_entries(dest)?;
        let mut moved = HashSet::new();
        for (name, path, is_dir) in sorted_entries(source)? {
            if is_dir {
                continue;
            }
            moved.insert(name.clone());
            if let Err(e) = load_chart(&path) {
                write!(
                    self.out,
                    "Could not verify {} for moving: {e} (Skipping)",
                    path.display()
                )?;
                continue;
            }
            if let Err(e) = std::fs::rename(&path, dest.join(&name)) {
                write!(
                    self.out,
                    "Unable to move {} to charts dir {e} (Skipping)",
                    path.display()
                )?;
            }
        }
        writeln!(self.out, "Deleting outdated charts")?;
        for (name, path, is_dir) in dest_files {
            if is_dir || moved.contains(&name) {
                continue;
            }
            match load_chart(&path) {
                Err(e) => writeln!(
                    self.out,
                    "Could not verify {} for deletion: {e} (Skipping)",
                    path.display()
                )?,
                Ok(c) if local.contains(c.metadata.name.as_str()) => {}
                Ok(_) => {
                    if let Err(e) = std::fs::remove_file(&path) {
                        write!(
                            self.out,
                            "Could not delete {}: {e} (Skipping)",
                            path.display()
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The locked dependencies, and the oci:// charts pulled to resolve them.
struct Resolved {
    locked: Vec<Dependency>,
    pulled: HashMap<String, super::oci::PulledChart>,
}

/// The repositories of Helm's repositories.yaml (none if it is missing).
fn configured_repositories() -> Result<Vec<RepoEntry>, CliError> {
    Ok(super::read_repo_file(&super::helm_repository_config())?.repositories)
}

/// One entry per URL (a trailing slash does not make another).
fn dedupe(repos: Vec<RepoEntry>) -> Vec<RepoEntry> {
    let mut seen = HashSet::new();
    repos
        .into_iter()
        .filter(|r| seen.insert(r.url.trim_end_matches('/').to_string()))
        .collect()
}

fn read_cached_index(repo_name: &str) -> Result<Index, CliError> {
    let path = super::index_path(repo_name);
    std::fs::read_to_string(&path)
        .map_err(|e| format!("open {}: {e}", path.display()))
        .and_then(|text| Index::parse(&text))
        .map_err(|e| {
            other(format!(
                "no cached repository for {repo_name} found. (try 'berth repo update'): {e}"
            ))
        })
}

/// Helm's `hasAllRepos`: each locked dependency's repository is configured.
fn has_all_repos(deps: &[Dependency], repos: &[RepoEntry]) -> Result<(), CliError> {
    let missing: Vec<&str> = deps
        .iter()
        .filter(|d| {
            !d.repository.is_empty()
                && !d.repository.starts_with("file://")
                && !d.repository.starts_with("oci://")
        })
        .filter(|d| {
            !repos
                .iter()
                .any(|r| same_url(&r.url, d.repository.trim_end_matches('/')))
        })
        .map(|d| d.repository.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(other(format!(
        "no repository definition for {}. Please add the missing repos via 'berth repo add'",
        missing.join(", ")
    )))
}

/// Helm's `findChartURL`: the archive's URL from the configured
/// repository's cached index, with its credentials and TLS settings; or,
/// for a repository nobody added, from its index fetched now.
async fn find_chart_url(
    name: &str,
    version: &str,
    repo_url: &str,
    repos: &[RepoEntry],
) -> Result<
    (
        String,
        Option<super::Auth>,
        rustls::ClientConfig,
        Option<[u8; 32]>,
    ),
    String,
> {
    if let Some(r) = repos.iter().find(|r| same_url(repo_url, &r.url)) {
        let index = read_cached_index(&r.name).map_err(|e| e.to_string())?;
        let versions = index.entries.get(name).ok_or("entry not found")?;
        let entry = versions
            .iter()
            .flatten()
            .find(|v| {
                !v.urls.is_empty() && (version.is_empty() || version_equals(version, &v.version))
            })
            .ok_or("no matching version")?;
        let url = super::resolve_reference(repo_url, &entry.urls[0]);
        let auth = r
            .auth()
            .filter(|_| r.pass_credentials_all || super::same_origin(&r.url, &url));
        let tls = r.tls(None).map_err(|e| e.to_string())?;
        return Ok((url, auth, tls, super::content_cache::digest(&entry.digest)));
    }
    let tls = super::Tls::of(None, None, None, false);
    let index = super::fetch_index(repo_url, None, &tls).await?;
    let entry = index
        .get(name, version)
        .map_err(|e| format!("chart {name} not found in {repo_url}: {e}"))?;
    let first = entry
        .urls
        .first()
        .ok_or_else(|| format!("chart {name} has no downloadable URLs"))?;
    Ok((
        super::resolve_reference(repo_url, first),
        None,
        tls.map_err(|e| e.to_string())?,
        super::content_cache::digest(&entry.digest),
    ))
}

/// Helm's `versionEquals`: equal as semver, else as text.
fn version_equals(a: &str, b: &str) -> bool {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(x), Ok(y)) => x.compare(&y).is_eq(),
        (Err(_), _) => a == b,
        _ => false,
    }
}

/// Helm's urlutil.Equal, as far as repository URLs need it: the same URL
/// once an empty path is "/" and a trailing slash is dropped.
fn same_url(a: &str, b: &str) -> bool {
    fn norm(u: &str) -> String {
        let (scheme, rest) = u.split_once("://").unwrap_or(("", u));
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path = path.trim_end_matches('/');
        format!("{scheme}://{host}/{path}")
    }
    norm(a) == norm(b)
}

/// Go's `url.ParseRequestURI` accepting it: an absolute URL or path.
fn is_request_uri(s: &str) -> bool {
    if s.starts_with('/') {
        return true;
    }
    match s.split_once(':') {
        Some((scheme, _)) => {
            let mut c = scheme.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|x| x.is_ascii_alphanumeric() || "+-.".contains(x))
        }
        None => false,
    }
}

/// Helm's `GetLocalPath`: a `file://` repository (or charts/NAME) as a
/// directory, relative to the chart unless absolute.
fn local_path(repository: &str, chart_path: &Path) -> Result<PathBuf, CliError> {
    let p = repository.strip_prefix("file://").unwrap_or(repository);
    let path = if p.starts_with('/') {
        PathBuf::from(p)
    } else {
        chart_path.join(p)
    };
    match std::fs::metadata(&path) {
        Ok(_) => Ok(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(other(format!("directory {} not found", path.display())))
        }
        Err(e) => Err(other(format!("{}: {e}", path.display()))),
    }
}

fn load_chart(path: &Path) -> Result<chart::Loaded, CliError> {
    let limits = Limits::default();
    let files = chart::load_path(path, &limits)?;
    Ok(chart::build(&files, &limits)?)
}

/// The version of the chart in a directory.
fn local_version(dir: &Path) -> Result<String, CliError> {
    Ok(load_chart(dir)?.metadata.version)
}

/// A directory's entries, by name: name, path, whether a directory.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>, CliError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
        out.push((
            e.file_name().to_string_lossy().into_owned(),
            e.path(),
            is_dir,
        ));
    }
    out.sort();
    Ok(out)
}

/// Write Chart.lock (requirements.lock for a v1 chart) as Helm does:
/// sigs.k8s.io/yaml of `chart.Lock`, refusing to write through a symlink.
fn write_lock(c: &ChartDir, locked: &[Dependency], digest: &str) -> Result<(), CliError> {
    let file = c.lock_file();
    let dest = c.path.join(file);
    if let Ok(m) = std::fs::symlink_metadata(&dest)
        && m.file_type().is_symlink()
    {
        let link = std::fs::read_link(&dest)?;
        return Err(other(format!(
            "the {file} file is a symlink to {:?}",
            link.display()
        )));
    }
    let deps: Vec<Value> = locked
        .iter()
        .map(|d| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), d.name.clone().into());
            m.insert("repository".into(), d.repository.clone().into());
            if !d.version.is_empty() {
                m.insert("version".into(), d.version.clone().into());
            }
            Value::Object(m)
        })
        .collect();
    let lock = serde_json::json!({
        "generated": crate::output::go_now(),
        "digest": digest,
        "dependencies": deps,
    });
    let text = berth_template::yaml::marshal(&lock);
    std::fs::write(&dest, text)?;
    Ok(())
}

/// `helm dependency list`: each dependency Chart.yaml names and what
/// charts/ holds of it; then what charts/ holds that Chart.yaml does not name.
pub fn list(chart_path: &Path, max_col_width: usize, out: &mut dyn Write) -> Result<(), CliError> {
    let loaded = load_chart(chart_path)?;
    let charts = chart_path.join("charts");
    let Some(req) = dependencies_of(&loaded.chart.metadata) else {
        writeln!(out, "WARNING: no dependencies at {}", charts.display())?;
        return Ok(());
    };
    let cell = |s: &str| crate::output::truncate(s, max_col_width);
    let rows: Vec<Vec<String>> = req
        .iter()
        .map(|d| {
            vec![
                cell(&d.name),
                cell(&d.version),
                cell(&d.repository),
                cell(status(&charts, d, &loaded.chart)),
            ]
        })
        .collect();
    crate::output::table(out, &["NAME", "VERSION", "REPOSITORY", "STATUS"], &rows)?;
    writeln!(out)?;
    if let Ok(entries) = sorted_entries(&charts) {
        for (name, path, is_dir) in entries {
            if !is_dir && !name.ends_with(".tgz") {
                continue;
            }
            let shown = path.display();
            match load_chart(&path) {
                Err(_) => writeln!(out, "WARNING: {:?} is not a chart.", shown.to_string())?,
                Ok(c) if !req.iter().any(|d| d.name == c.metadata.name) => writeln!(
                    out,
                    "WARNING: {:?} is not in Chart.yaml.",
                    shown.to_string()
                )?,
                Ok(_) => {}
            }
        }
    }
    Ok(())
}

/// Helm's `dependencyStatus`: an archive `NAME-VERSION.tgz` in charts/ is
/// ok, misnamed, corrupt or of the wrong version; else a subchart directory
/// of that name is "unpacked" (or of the wrong version), else "missing".
fn status(charts: &Path, dep: &Dependency, parent: &berth_template::helm::Chart) -> &'static str {
    let prefix = format!("{}-", dep.name);
    let archives: Vec<PathBuf> = sorted_entries(charts)
        .unwrap_or_default()
        .into_iter()
        .filter(|(n, _, _)| n.starts_with(&prefix) && n.ends_with(".tgz"))
        .map(|(_, p, _)| p)
        .collect();
    let archive = match archives.len() {
        0 => None,
        1 => archives.first(),
        _ => {
            let found: Vec<&PathBuf> = archives
                .iter()
                .filter(|p| {
                    let file = p.file_name().unwrap_or_default().to_string_lossy();
                    let version = file
                        .strip_suffix(".tgz")
                        .and_then(|f| f.strip_prefix(&prefix))
                        .unwrap_or_default();
                    is_strict_semver(version)
                })
                .collect();
            match found.len() {
                0 => None,
                1 => Some(found[0]),
                _ => return "too many matches",
            }
        }
    };
    if let Some(archive) = archive {
        return match load_chart(archive) {
            Err(_) => "corrupt",
            Ok(c) if c.metadata.name != dep.name => "misnamed",
            Ok(c) => version_status(&c.metadata.version, &dep.version).unwrap_or("ok"),
        };
    }
    let Some(sub) = parent
        .dependencies
        .iter()
        .rev()
        .find(|c| c.name() == dep.name)
    else {
        return "missing";
    };
    let version = sub
        .metadata
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("");
    version_status(version, &dep.version).unwrap_or("unpacked")
}

/// "invalid version" or "wrong version" when `have` does not satisfy `want`.
fn version_status(have: &str, want: &str) -> Option<&'static str> {
    if have == want {
        return None;
    }
    let (Ok(c), Ok(v)) = (Constraints::parse(want), Version::parse(have)) else {
        return Some("invalid version");
    };
    (!c.check(&v)).then_some("wrong version")
}

/// Masterminds' `StrictNewVersion`: MAJOR.MINOR.PATCH, no `v`, no leading zeros.
fn is_strict_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
        && Version::parse(v).is_ok()
}

/// `--dependency-update` of install, upgrade and template: when the chart
/// lacks a dependency Chart.yaml names, run `dependency update` on it
/// first, reporting to `log`.
pub async fn update_if_missing(
    path: &Path,
    access: &AccessFlags,
    log: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    let loaded = load_chart(path)?;
    if berth::render::missing_dependencies(&loaded.chart).is_empty() {
        return Ok(());
    }
    Manager {
        chart_path: path.to_path_buf(),
        skip_refresh: false,
        access: access.clone(),
        verify: None,
        out: log,
    }
    .update()
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(name: &str, version: &str, repository: &str) -> Dependency {
        Dependency::locked(name, repository, version)
    }

    /// Helm's own TestHashReq digest.
    #[test]
    fn hash_req_is_helms() {
        let req = [dep("alpine", "0.1.0", "http://localhost:8879/charts")];
        assert_eq!(
            hash_req(Some(&req), Some(&req)),
            "sha256:fb239e836325c5fa14b29d1540a13b7d3ba13151b67fe719f820e0ef6d66aaaf"
        );
        let ranged = [dep("alpine", "^0.1.0", "http://localhost:8879/charts")];
        assert_ne!(
            hash_req(Some(&ranged), Some(&req)),
            hash_req(Some(&req), Some(&req))
        );
    }

    /// The Chart.lock of Helm's testdata import-values-from-enabled-subchart:
    /// conditions, tags, import-values, and `>` escaped as Go does.
    #[test]
    fn hash_req_covers_every_field_as_go_marshals_it() {
        let full = |name: &str| Dependency {
            name: name.into(),
            version: ">= 0.0.1".into(),
            repository: format!("file://envs/{name}"),
            condition: format!("{name}.enabled,global.{name}.enabled"),
            tags: vec![name.into()],
            import_values: vec![Value::from("data")],
            ..Dependency::default()
        };
        let req = [full("dev"), full("prod")];
        let lock = [
            dep("dev", "v0.1.0", "file://envs/dev"),
            dep("prod", "v0.1.0", "file://envs/prod"),
        ];
        assert_eq!(
            hash_req(Some(&req), Some(&lock)),
            "sha256:9403fc24f6cf9d6055820126cf7633b4bd1fed3c77e4880c674059f536346182"
        );
    }

    #[test]
    fn urls_and_versions_compare_as_helms() {
        assert!(same_url("https://x.io/charts/", "https://x.io/charts"));
        assert!(same_url("https://x.io", "https://x.io/"));
        assert!(!same_url("https://x.io/a", "https://x.io/b"));
        assert!(is_request_uri("https://x.io"));
        assert!(!is_request_uri("stable"));
        assert!(version_equals("1.0", "1.0.0"));
        assert!(is_strict_semver("1.2.3-rc.1"));
        assert!(!is_strict_semver("v1.2.3"));
        assert!(!is_strict_semver("1.02.3"));
        assert_eq!(version_status("1.2.0", "~1.2"), None);
        assert_eq!(version_status("2.0.0", "~1.2"), Some("wrong version"));
        assert_eq!(version_status("2.0.0", "nope"), Some("invalid version"));
    }
}
