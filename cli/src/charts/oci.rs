//! Charts in OCI registries (`oci://host/path/chart`), pulled as Helm's
//! registry client pulls them: the tag is `--version` when it names one
//! version, else the newest tag the constraint takes (tags listed, `_` read
//! as `+`); the manifest's chart layer
//! (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) is fetched and
//! checked against its digest. Registries that ask for a token get one
//! from their realm (the Docker token flow), with the credentials of
//! `--username`/`--password` or of Helm's registry config.json.

use serde::Deserialize;

use super::{AccessFlags, Answer, Auth, fetch};
use crate::CliError;
use berth_template::funcs::semver::{Constraints, Version};

const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// `oci://host/repository[:tag][@sha256:DIGEST]`.
struct Reference {
    host: String,
    repository: String,
    tag: Option<String>,
    /// `sha256:<64 hex>`: the manifest's digest, which then decides.
    digest: Option<String>,
}

impl Reference {
    fn parse(s: &str) -> Result<Reference, String> {
        let rest = s.strip_prefix("oci://").ok_or("not an oci:// reference")?;
        let (rest, digest) = match rest.rsplit_once('@') {
            Some((r, d)) => {
                let hex = d
                    .strip_prefix("sha256:")
                    .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
                if hex.is_none() {
                    return Err(format!(
                        "{s}: a digest is sha256: and 64 hex digits, not {d:?}"
                    ));
                }
                (r, Some(d.to_ascii_lowercase()))
            }
            None => (rest, None),
        };
        let (host, path) = rest
            .split_once('/')
            .filter(|(h, p)| !h.is_empty() && !p.is_empty())
            .ok_or_else(|| format!("invalid OCI reference {s:?}: no repository"))?;
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), Some(t.to_string())),
            _ => (path.to_string(), None),
        };
        Ok(Reference {
            host: host.to_string(),
            repository,
            tag,
            digest,
        })
    }
}

/// A chart pulled from a registry.
pub struct PulledChart {
    pub data: Vec<u8>,
    /// `NAME-VERSION.tgz`.
    pub file: String,
    /// The provenance layer, when it was asked for.
    pub prov: Option<Vec<u8>>,
    pub report: RegistryReport,
}

/// What Helm's registry client says after a pull or a push
/// (pkg/registry/client.go): `Pulled: REF` (or `Pushed:`), `Digest:
/// sha256:…` (the manifest's), and a note when the reference has an
/// underscore, which stands for a version's `+`.
pub struct RegistryReport {
    /// `Pulled`, `Pulled plugin` or `Pushed`.
    what: &'static str,
    /// `host/repository:tag`, or `host/repository@sha256:…` when a digest
    /// named the manifest.
    pub reference: String,
    pub digest: String,
    /// A plugin's provenance file, when its artifact has one.
    provenance: Option<String>,
    /// Whether to add the note on `_`.
    underscore: bool,
}

/// Helm's registryUnderscoreMessage.
const UNDERSCORE_NOTE: &str = "
OCI artifact references (e.g. tags) do not support the plus sign (+). To support
storing semantic versions, Helm adopts the convention of changing plus (+) to
an underscore (_) in chart version tags when pushing to a registry and back to
a plus (+) when pulling from a registry.";

impl RegistryReport {
    /// After a pull Helm looks for the underscore in the whole reference.
    fn pulled(
        what: &'static str,
        reference: String,
        digest: String,
        provenance: Option<String>,
    ) -> RegistryReport {
        RegistryReport {
            what,
            underscore: reference.contains('_'),
            reference,
            digest,
            provenance,
        }
    }

    /// After a push Helm looks for the underscore in the tag alone.
    pub fn pushed(reference: String, digest: String) -> RegistryReport {
        let tag = reference.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        RegistryReport {
            what: "Pushed",
            underscore: tag.contains('_'),
            reference,
            digest,
            provenance: None,
        }
    }

    pub fn write(&self, out: &mut (dyn std::io::Write + Send)) -> std::io::Result<()> {
        writeln!(out, "{}: {}", self.what, self.reference)?;
        writeln!(out, "Digest: {}", self.digest)?;
        if let Some(p) = &self.provenance {
            writeln!(out, "Provenance: {p}")?;
        }
        if self.underscore {
            writeln!(out, "{} contains an underscore.", self.reference)?;
            writeln!(out, "{UNDERSCORE_NOTE}")?;
        }
        Ok(())
    }
}

/// Pull the chart `reference` names.
pub async fn pull(
    reference: &str,
    version: &str,
    f: &AccessFlags,
) -> Result<PulledChart, CliError> {
    pull_with(reference, version, f, false).await
}

/// [`pull`], and with `prov` the chart's provenance too (the layer `helm
/// push` adds when a `.prov` lies beside the archive), which must be there.
pub async fn pull_with(
    reference: &str,
    version: &str,
    f: &AccessFlags,
    prov: bool,
) -> Result<PulledChart, CliError> {
    let failed = |e: String| CliError::Other(format!("failed to pull {reference:?}: {e}"));
    let Resolved {
        reference: r,
        mut session,
        base,
        tag,
        manifest,
    } = resolve(reference, version, f).await?;
    #[derive(Deserialize)]
    struct Layer {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        digest: String,
    }
    #[derive(Deserialize)]
    struct Manifest {
        #[serde(default)]
        layers: Vec<Layer>,
    }
    let digest = sha256_digest(&manifest);
    let manifest: Manifest = serde_json::from_slice(&manifest)
        .map_err(|e| failed(format!("manifest of {}:{tag}: {e}", r.repository)))?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == CHART_LAYER)
        .ok_or_else(|| {
            failed(format!(
                "{}:{tag} is not a Helm chart (no {CHART_LAYER} layer)",
                r.repository
            ))
        })?;
    let want = layer
        .digest
        .strip_prefix("sha256:")
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| failed(format!("unsupported layer digest {:?}", layer.digest)))?;
    // Helm v4's content cache holds a chart it pulled by its layer's sha256.
    let key = super::content_cache::digest(want);
    let download = async {
        let blob = session
            .get(
                &format!("{base}/blobs/{}", layer.digest),
                &[],
                berth::chart::Limits::default().max_packed,
            )
            .await
            .map_err(failed)?;
        let got = berth::chart::sha256_hex(&blob);
        if got != want.to_ascii_lowercase() {
            return Err(failed(format!(
                "the chart layer's digest is sha256:{got}, not {}",
                layer.digest
            )));
        }
        Ok(blob)
    };
    let blob = super::content_cache::or_fetch(key, download).await?;
    let report = RegistryReport::pulled("Pulled", pulled_reference(&r, &tag), digest, None);
    let provenance = match manifest.layers.iter().find(|l| l.media_type == PROV_LAYER) {
        _ if !prov => None,
        None => {
            return Err(failed(format!(
                "manifest does not contain a layer with mediatype {PROV_LAYER}"
            )));
        }
        Some(layer) => {
            let data = session
                .get(&format!("{base}/blobs/{}", layer.digest), &[], 1 << 20)
                .await
                .map_err(failed)?;
            if sha256_digest(&data) != layer.digest.to_ascii_lowercase() {
                return Err(failed(format!(
                    "the provenance layer's digest is {}, not {}",
                    sha256_digest(&data),
                    layer.digest
                )));
            }
            Some(data)
        }
    };
    let name = r.repository.rsplit('/').next().unwrap_or("chart");
    if tag.is_empty() {
        // By digest alone: the chart says which version it is.
        let limits = berth::chart::Limits::default();
        let files = berth::chart::unpack(&blob, &limits)?;
        let have = berth::chart::build(&files, &limits)?.metadata.version;
        if !version.is_empty()
            && !Constraints::parse(version)
                .ok()
                .zip(Version::parse(&have).ok())
                .is_some_and(|(c, v)| c.check(&v))
        {
            return Err(failed(format!(
                "the chart at {} is version {have}, which --version {version} does not take",
                r.digest.as_deref().unwrap_or_default()
            )));
        }
        return Ok(PulledChart {
            data: blob,
            file: format!("{name}-{have}.tgz"),
            prov: provenance,
            report,
        });
    }
    Ok(PulledChart {
        data: blob,
        file: format!("{name}-{}.tgz", tag.replace('_', "+")),
        prov: provenance,
        report,
    })
}

/// The reference as Helm's registry client names what it pulled: with the
/// digest when one named the manifest, else with the tag.
fn pulled_reference(r: &Reference, tag: &str) -> String {
    match &r.digest {
        Some(d) => format!("{}/{}@{d}", r.host, r.repository),
        None => format!("{}/{}:{tag}", r.host, r.repository),
    }
}

/// Helm v4's plugin artifacts: the manifest's artifactType (or, before
/// it, its config's media type).
const PLUGIN_ARTIFACT: &str = "application/vnd.helm.plugin.v1+json";

/// A plugin pulled from a registry.
pub struct PulledPlugin {
    /// The archive and its name (`NAME-VERSION.tgz`, the layer's title).
    pub data: Vec<u8>,
    pub file: String,
    /// The `NAME-VERSION.tgz.prov` layer, if the artifact has one.
    pub prov: Option<Vec<u8>>,
    pub report: RegistryReport,
}

/// Helm v4's `plugin install oci://HOST/PATH/NAME[:TAG]`: the manifest of a
/// plugin artifact, its layer titled `NAME-<version>.tgz` and the
/// `.tgz.prov` beside it (Helm's `PullPlugin`). Without a tag, the newest
/// version among the tags.
pub async fn pull_plugin(reference: &str, f: &AccessFlags) -> Result<PulledPlugin, CliError> {
    let failed =
        |e: String| CliError::Other(format!("failed to pull plugin from {reference}: {e}"));
    let Resolved {
        reference: r,
        mut session,
        base,
        manifest,
        tag,
    } = resolve(reference, "", f).await?;
    let name = r
        .repository
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    #[derive(Deserialize)]
    struct Descriptor {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        digest: String,
        #[serde(default)]
        annotations: std::collections::BTreeMap<String, String>,
    }
    #[derive(Deserialize)]
    struct Manifest {
        #[serde(rename = "artifactType", default)]
        artifact_type: String,
        config: Option<Descriptor>,
        #[serde(default)]
        layers: Vec<Descriptor>,
    }
    let m: Manifest = serde_json::from_slice(&manifest)
        .map_err(|e| failed(format!("unable to parse manifest: {e}")))?;
    if !m.artifact_type.is_empty() && m.artifact_type != PLUGIN_ARTIFACT {
        return Err(failed(format!(
            "expected artifact type {PLUGIN_ARTIFACT}, got {}",
            m.artifact_type
        )));
    }
    let config_type = m
        .config
        .as_ref()
        .map(|c| c.media_type.as_str())
        .unwrap_or("");
    if m.artifact_type.is_empty() && config_type != PLUGIN_ARTIFACT {
        return Err(failed(format!(
            "expected config media type {PLUGIN_ARTIFACT} for legacy compatibility, got {config_type}"
        )));
    }
    let title = |d: &Descriptor| {
        d.annotations
            .get("org.opencontainers.image.title")
            .cloned()
            .unwrap_or_default()
    };
    let prefix = format!("{name}-");
    let archive = m
        .layers
        .iter()
        .find(|d| title(d).starts_with(&prefix) && title(d).ends_with(".tgz"))
        .ok_or_else(|| {
            failed(format!(
                "required layer matching pattern {name}-VERSION.tgz not found in manifest"
            ))
        })?;
    let prov_layer = m
        .layers
        .iter()
        .find(|d| title(d).starts_with(&prefix) && title(d).ends_with(".tgz.prov"));
    let data = blob(
        &mut session,
        &base,
        &archive.digest,
        berth::chart::Limits::default().max_packed,
    )
    .await
    .map_err(failed)?;
    let prov = match prov_layer {
        Some(d) => Some(
            blob(&mut session, &base, &d.digest, 1 << 20)
                .await
                .map_err(failed)?,
        ),
        None => None,
    };
    let report = RegistryReport::pulled(
        "Pulled plugin",
        pulled_reference(&r, &tag),
        sha256_digest(&manifest),
        prov_layer.map(title),
    );
    Ok(PulledPlugin {
        data,
        file: title(archive),
        prov,
        report,
    })
}

/// A blob of the repository at `base`, checked against its digest.
async fn blob(
    session: &mut Session,
    base: &str,
    digest: &str,
    max: u64,
) -> Result<Vec<u8>, String> {
    if !digest
        .strip_prefix("sha256:")
        .is_some_and(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!("unsupported layer digest {digest:?}"));
    }
    let data = session
        .get(&format!("{base}/blobs/{digest}"), &[], max)
        .await?;
    let got = sha256_digest(&data);
    if got != digest.to_ascii_lowercase() {
        return Err(format!("the layer's digest is {got}, not {digest}"));
    }
    Ok(data)
}

/// A reference resolved to its manifest: the tag `version` picks (or the
/// reference's own), the manifest fetched (and checked against the
/// reference's digest), and the session that reached it.
struct Resolved {
    reference: Reference,
    session: Session,
    base: String,
    tag: String,
    manifest: Vec<u8>,
}

async fn resolve(reference: &str, version: &str, f: &AccessFlags) -> Result<Resolved, CliError> {
    let failed = |e: String| CliError::Other(format!("failed to pull {reference:?}: {e}"));
    let r = Reference::parse(reference).map_err(CliError::Usage)?;
    let tls = super::Tls::of_flags(f)?;
    let scheme = if f.plain_http { "http" } else { "https" };
    let base = format!("{scheme}://{}/v2/{}", r.host, r.repository);
    let auth = super::Auth::of(f.username.as_deref(), f.password.as_deref())
        .or_else(|| registry_login(&r.host));
    let mut session = Session {
        tls,
        auth,
        bearer: None,
    };
    let tag = match (&r.tag, version) {
        // A digest names the manifest: no tag to resolve.
        (None, _) if r.digest.is_some() => String::new(),
        (Some(tag), v) if v.is_empty() || v == tag => tag.clone(),
        (Some(tag), v) => {
            return Err(CliError::Usage(format!(
                "chart reference and version mismatch: {tag} is not {v}"
            )));
        }
        (None, v)
            if Version::parse(v).is_ok()
                && !v.contains(['^', '~', '*', '<', '>', '=', ' ', ',', '|']) =>
        {
            v.replace('+', "_")
        }
        (None, v) => {
            #[derive(Deserialize)]
            struct Tags {
                #[serde(default)]
                tags: Vec<String>,
            }
            // The list may come in pages, each naming the next in a Link
            // header (the distribution spec's pagination).
            let mut all = Vec::new();
            let mut next = Some(format!("{base}/tags/list"));
            let mut pages = 0;
            while let Some(url) = next.take() {
                pages += 1;
                if pages > 1000 {
                    return Err(failed(format!(
                        "tags of {}: more than 1000 pages",
                        r.repository
                    )));
                }
                let page = session
                    .get_answer(&url, &[], 1 << 20)
                    .await
                    .map_err(failed)?;
                let tags: Tags = serde_json::from_slice(&page.body)
                    .map_err(|e| failed(format!("tags of {}: {e}", r.repository)))?;
                all.extend(tags.tags);
                next = page
                    .headers
                    .get("link")
                    .and_then(|l| l.to_str().ok())
                    .and_then(next_page)
                    .map(|p| super::resolve_reference_exact(&page.url, &p));
            }
            newest_matching(&all, v).map_err(&failed)?
        }
    };
    let target = r.digest.clone().unwrap_or_else(|| tag.clone());
    let manifest = session
        .get(
            &format!("{base}/manifests/{target}"),
            &[("accept", MANIFEST)],
            4 << 20,
        )
        .await
        .map_err(failed)?;
    if let Some(digest) = &r.digest {
        let got = sha256_digest(&manifest);
        if &got != digest {
            return Err(failed(format!(
                "the manifest's digest is {got}, not {digest}"
            )));
        }
    }
    Ok(Resolved {
        reference: r,
        session,
        base,
        tag,
        manifest,
    })
}

/// An OCI digest: `sha256:` and the hex of the bytes' sha256.
fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", berth::chart::sha256_hex(data))
}

/// Helm's GetTagMatchingVersionOrConstraint over tags sorted newest first.
fn newest_matching(tags: &[String], version: &str) -> Result<String, String> {
    let mut tags: Vec<String> = tags.iter().map(|t| t.replace('_', "+")).collect();
    tags.sort_by(|a, b| super::newest_first(a, b));
    if !version.is_empty()
        && let Some(exact) = tags.iter().find(|t| *t == version)
    {
        return Ok(exact.replace('+', "_"));
    }
    let constraint = Constraints::parse(if version.is_empty() { "*" } else { version })?;
    tags.iter()
        .find(|t| Version::parse(t).is_ok_and(|v| constraint.check(&v)))
        .map(|t| t.replace('+', "_"))
        .ok_or_else(|| {
            format!("could not locate a version matching provided version string {version}")
        })
}

/// Requests to one registry, with the token it handed out.
struct Session {
    tls: rustls::ClientConfig,
    auth: Option<Auth>,
    bearer: Option<String>,
}

impl Session {
    /// GET, answering a 401 once: with a token from the challenge's realm
    /// (Bearer), or with the credentials (Basic).
    async fn get(
        &mut self,
        url: &str,
        headers: &[(&str, &str)],
        max: u64,
    ) -> Result<Vec<u8>, String> {
        self.get_answer(url, headers, max).await.map(|a| a.body)
    }

    /// [`Session::get`], with the answer's headers and final URL.
    async fn get_answer(
        &mut self,
        url: &str,
        headers: &[(&str, &str)],
        max: u64,
    ) -> Result<Answer, String> {
        let answer = self
            .send(http::Method::GET, url, headers, bytes::Bytes::new(), max)
            .await?;
        if answer.status != http::StatusCode::OK {
            return Err(format!("{} : {}", answer.url, answer.status));
        }
        Ok(answer)
    }

    /// A request, answering a 401 once: with a token from the challenge's
    /// realm (Bearer, for the scope the challenge names), or with the
    /// credentials (Basic). The answer, whatever its status.
    async fn send(
        &mut self,
        method: http::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: bytes::Bytes,
        max: u64,
    ) -> Result<Answer, String> {
        let mut attempt = 0;
        loop {
            let authorization = match (&self.bearer, &self.auth) {
                (Some(token), _) => Some(format!("Bearer {token}")),
                (None, Some(a)) if attempt > 0 => Some(a.header()),
                _ => None,
            };
            let answer = super::send(
                method.clone(),
                url,
                authorization.as_deref(),
                headers,
                body.clone(),
                &self.tls,
                max,
            )
            .await?;
            if answer.status == http::StatusCode::UNAUTHORIZED && attempt == 0 {
                self.answer_challenge(&answer).await?;
                attempt += 1;
                continue;
            }
            return Ok(answer);
        }
    }

    async fn answer_challenge(&mut self, answer: &Answer) -> Result<(), String> {
        let challenge = answer
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(params) = challenge
            .strip_prefix("Bearer ")
            .or_else(|| challenge.strip_prefix("bearer "))
        else {
            // Basic: the retry sends the credentials.
            return Ok(());
        };
        let param = |key: &str| {
            params.split(',').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k == key).then(|| v.trim_matches('"').to_string())
            })
        };
        let realm = param("realm").ok_or("a Bearer challenge without a realm")?;
        let mut query = Vec::new();
        for key in ["service", "scope"] {
            if let Some(v) = param(key) {
                query.push(format!("{key}={}", encode(&v)));
            }
        }
        let url = if query.is_empty() {
            realm
        } else {
            format!("{realm}?{}", query.join("&"))
        };
        let basic = self.auth.as_ref().map(Auth::header);
        let token = fetch(&url, basic.as_deref(), &[], &self.tls, 1 << 20).await?;
        if token.status != http::StatusCode::OK {
            return Err(format!("{} : {}", token.url, token.status));
        }
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let t: Token = serde_json::from_slice(&token.body).map_err(|e| format!("{url}: {e}"))?;
        self.bearer = Some(
            t.token
                .or(t.access_token)
                .ok_or_else(|| format!("{url}: no token in the answer"))?,
        );
        Ok(())
    }
}

/// The target of a Link header's `rel="next"`: `</v2/x/tags/list?last=a>;
/// rel="next"`.
fn next_page(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"))
            .then(|| target.to_string())
    })
}

/// Percent-encoding for a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const PROV_LAYER: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";

/// `helm push`: the chart archive at `path` (and its `.prov` beside it, if
/// any) to `remote` (`oci://host[/path]`) as `NAME:VERSION`, with Helm's
/// manifest (its config, layers and annotations). The reference pushed
/// and the manifest's digest.
pub async fn push(
    path: &std::path::Path,
    remote: &str,
    f: &AccessFlags,
) -> Result<(String, String), CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|_| CliError::Other(format!("{}: no such file", path.display())))?;
    if meta.is_dir() {
        return Err(CliError::Usage(
            "cannot push directory, must provide chart archive (.tgz)".into(),
        ));
    }
    let chart = std::fs::read(path)?;
    let limits = berth::chart::Limits::default();
    let loaded = berth::chart::build(&berth::chart::unpack(&chart, &limits)?, &limits)?;
    let rest = remote.strip_prefix("oci://").ok_or_else(|| {
        CliError::Usage(format!(
            "{remote}: push takes an oci:// remote (oci://host/path)"
        ))
    })?;
    let rest = rest.trim_end_matches('/');
    let (host, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let name = &loaded.metadata.name;
    let repository = if prefix.is_empty() {
        name.clone()
    } else {
        format!("{prefix}/{name}")
    };
    let tag = loaded.metadata.version.replace('+', "_");
    let reference = format!("{host}/{repository}:{tag}");
    let failed = |e: String| CliError::Other(format!("failed to push {reference}: {e}"));
    let scheme = if f.plain_http { "http" } else { "https" };
    let base = format!("{scheme}://{host}/v2/{repository}");
    let mut session = Session {
        tls: super::Tls::of_flags(f)?,
        auth: super::Auth::of(f.username.as_deref(), f.password.as_deref())
            .or_else(|| registry_login(host)),
        bearer: None,
    };
    let md = super::save::go_metadata(&loaded.chart.metadata);
    let config = crate::output::go_json(&md)?.into_bytes();
    let mut layers = vec![(CHART_LAYER, chart)];
    let prov = path.with_file_name(format!(
        "{}.prov",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    if let Ok(p) = std::fs::read(&prov) {
        layers.push((PROV_LAYER, p));
    }
    let descriptor = |media: &str, data: &[u8]| {
        serde_json::json!({
            "mediaType": media,
            "digest": sha256_digest(data),
            "size": data.len(),
        })
    };
    upload(&mut session, &base, &config).await.map_err(failed)?;
    for (_, data) in &layers {
        upload(&mut session, &base, data).await.map_err(failed)?;
    }
    let mut layer_descriptors: Vec<serde_json::Value> =
        layers.iter().map(|(m, d)| descriptor(m, d)).collect();
    layer_descriptors.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
    let created = meta
        .modified()
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from)
        .unwrap_or_else(chrono::Utc::now)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": descriptor(CONFIG, &config),
        "layers": layer_descriptors,
        "annotations": annotations(&md, &created),
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|e| failed(e.to_string()))?;
    let answer = session
        .send(
            http::Method::PUT,
            &format!("{base}/manifests/{tag}"),
            &[("content-type", MANIFEST)],
            manifest.clone().into(),
            1 << 20,
        )
        .await
        .map_err(failed)?;
    if !answer.status.is_success() {
        return Err(failed(format!("{} : {}", answer.url, answer.status)));
    }
    let digest = sha256_digest(&manifest);
    Ok((reference, digest))
}

/// One blob into the repository, unless it is there already: the
/// distribution spec's monolithic upload (POST, then PUT with the digest).
async fn upload(session: &mut Session, base: &str, data: &[u8]) -> Result<(), String> {
    let digest = sha256_digest(data);
    let head = session
        .send(
            http::Method::HEAD,
            &format!("{base}/blobs/{digest}"),
            &[],
            bytes::Bytes::new(),
            1 << 10,
        )
        .await?;
    if head.status == http::StatusCode::OK {
        return Ok(());
    }
    let start = session
        .send(
            http::Method::POST,
            &format!("{base}/blobs/uploads/"),
            &[],
            bytes::Bytes::new(),
            1 << 20,
        )
        .await?;
    if start.status != http::StatusCode::ACCEPTED {
        return Err(format!("{} : {}", start.url, start.status));
    }
    let location = start
        .headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| format!("{}: an upload without a Location", start.url))?;
    let location = super::resolve_reference_exact(&start.url, location);
    let sep = if location.contains('?') { '&' } else { '?' };
    let put = session
        .send(
            http::Method::PUT,
            &format!("{location}{sep}digest={}", encode(&digest)),
            &[("content-type", "application/octet-stream")],
            bytes::Bytes::copy_from_slice(data),
            1 << 20,
        )
        .await?;
    if !put.status.is_success() {
        return Err(format!("{} : {}", put.url, put.status));
    }
    Ok(())
}

/// Helm's generateOCIAnnotations: the chart's own fields under the OCI
/// image keys, then its annotations (but for title and version).
fn annotations(md: &serde_json::Value, created: &str) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let mut put = |k: &str, v: &str| {
        if !v.trim().is_empty() {
            out.insert(format!("org.opencontainers.image.{k}"), v.into());
        }
    };
    let s = |k: &str| md.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
    put("description", s("description"));
    put("title", s("name"));
    put("version", s("version"));
    put("url", s("home"));
    put("created", created);
    if let Some(source) = md["sources"].get(0).and_then(serde_json::Value::as_str) {
        put("source", source);
    }
    if let Some(maintainers) = md["maintainers"].as_array().filter(|m| !m.is_empty()) {
        let authors: Vec<String> = maintainers
            .iter()
            .map(|m| {
                let name = m["name"].as_str().unwrap_or("");
                match m["email"].as_str().filter(|e| !e.is_empty()) {
                    Some(e) => format!("{name} ({e})"),
                    None => name.to_string(),
                }
            })
            .collect();
        put("authors", &authors.join(", "));
    }
    if let Some(a) = md["annotations"].as_object() {
        for (k, v) in a {
            let fixed = [
                "org.opencontainers.image.version",
                "org.opencontainers.image.title",
            ];
            if !fixed.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    serde_json::Value::Object(out)
}

/// Helm's `$HELM_REGISTRY_CONFIG`: where `helm registry login` (and
/// `berth registry login`) keep registry credentials, in Docker's
/// config.json format.
pub fn registry_config() -> std::path::PathBuf {
    std::env::var_os("HELM_REGISTRY_CONFIG")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            super::helm_home("HELM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config")
                .join("registry/config.json")
        })
}

/// The credentials stored for `host`.
fn registry_login(host: &str) -> Option<Auth> {
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(registry_config()).ok()?).ok()?;
    let encoded = config["auths"][host]["auth"].as_str()?;
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let (user, pass) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Auth::of(Some(user), Some(pass))
}

/// `helm registry login`: check the credentials against the registry
/// (its /v2/ endpoint, through a token from its realm if it asks for
/// one), then store them for `host`, keeping the file's other entries.
pub async fn login(
    host: &str,
    username: &str,
    password: &str,
    f: &AccessFlags,
) -> Result<(), CliError> {
    let scheme = if f.plain_http { "http" } else { "https" };
    let mut session = Session {
        tls: super::Tls::of_flags(f)?,
        auth: Auth::of(Some(username), Some(password)),
        bearer: None,
    };
    session
        .get(&format!("{scheme}://{host}/v2/"), &[], 1 << 20)
        .await
        .map_err(|e| CliError::Other(format!("login to {host} failed: {e}")))?;
    let path = registry_config();
    let mut config = read_config(&path)?;
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    config["auths"][host] = serde_json::json!({ "auth": auth });
    write_config(&path, &config)
}

/// `helm registry logout`: forget the credentials of `host`; false if
/// there were none.
pub fn logout(host: &str) -> Result<bool, CliError> {
    let path = registry_config();
    let mut config = read_config(&path)?;
    let removed = config
        .get_mut("auths")
        .and_then(serde_json::Value::as_object_mut)
        .and_then(|a| a.remove(host))
        .is_some();
    if removed {
        write_config(&path, &config)?;
    }
    Ok(removed)
}

fn read_config(path: &std::path::Path) -> Result<serde_json::Value, CliError> {
    let mut config = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(CliError::Other(format!("{}: {e}", path.display()))),
    };
    if !config.is_object() {
        return Err(CliError::Other(format!(
            "{}: not a JSON object",
            path.display()
        )));
    }
    if !config["auths"].is_object() {
        config["auths"] = serde_json::json!({});
    }
    Ok(config)
}

/// Private to its owner: it holds passwords.
fn write_config(path: &std::path::Path, config: &serde_json::Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(config).map_err(|e| CliError::Other(e.to_string()))?;
    super::write_replacing(path, &text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_is_reported_as_helms_registry_client_reports_it() {
        let report = |reference: &str| {
            let mut out = Vec::new();
            RegistryReport::pulled("Pulled", reference.into(), "sha256:ab".into(), None)
                .write(&mut out)
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            report("r.example/charts/web:1.0.0"),
            "Pulled: r.example/charts/web:1.0.0\nDigest: sha256:ab\n"
        );
        // A tag with `_` (a version's `+`) gets Helm's note, blank line and all.
        assert_eq!(
            report("r.example/charts/web:1.0.0_b1"),
            "Pulled: r.example/charts/web:1.0.0_b1\nDigest: sha256:ab\n\
             r.example/charts/web:1.0.0_b1 contains an underscore.\n\n\
             OCI artifact references (e.g. tags) do not support the plus sign (+). To support\n\
             storing semantic versions, Helm adopts the convention of changing plus (+) to\n\
             an underscore (_) in chart version tags when pushing to a registry and back to\n\
             a plus (+) when pulling from a registry.\n"
        );
        // After a push, only the tag counts.
        let mut out = Vec::new();
        RegistryReport::pushed("r.example/my_charts/web:1.0.0".into(), "sha256:ab".into())
            .write(&mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Pushed: r.example/my_charts/web:1.0.0\nDigest: sha256:ab\n"
        );
    }

    #[test]
    fn references_and_tags() {
        let r = Reference::parse("oci://registry-1.docker.io/bitnamicharts/nginx:15.1.0").unwrap();
        assert_eq!(r.host, "registry-1.docker.io");
        assert_eq!(r.repository, "bitnamicharts/nginx");
        assert_eq!(r.tag.as_deref(), Some("15.1.0"));
        let r = Reference::parse("oci://localhost:5000/charts/web").unwrap();
        assert_eq!((r.host.as_str(), r.tag), ("localhost:5000", None));
        let d = format!("sha256:{}", "A".repeat(64));
        let r = Reference::parse(&format!("oci://h:5000/charts/web:1.0.0@{d}")).unwrap();
        assert_eq!(r.repository, "charts/web");
        assert_eq!(r.tag.as_deref(), Some("1.0.0"));
        assert_eq!(r.digest, Some(d.to_ascii_lowercase()));
        assert!(Reference::parse("oci://h/charts/web@sha256:12").is_err());
        assert!(Reference::parse("oci://h/charts/web@md5:x").is_err());
        assert!(Reference::parse("oci://host").is_err());

        let tags: Vec<String> = ["1.0.0", "1.2.0_build.1", "2.0.0-rc.1", "latest", "1.10.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(newest_matching(&tags, "").unwrap(), "1.10.0");
        assert_eq!(newest_matching(&tags, "~1.2").unwrap(), "1.2.0_build.1");
        assert_eq!(newest_matching(&tags, ">0.0.0-0").unwrap(), "2.0.0-rc.1");
        assert!(newest_matching(&tags, "3.x").is_err());
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
        assert_eq!(
            next_page(r#"</v2/a/tags/list?last=1.2.0&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=1.2.0&n=2")
        );
        assert_eq!(next_page(r#"</x>; rel="prev""#), None);
    }
}
