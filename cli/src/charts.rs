//! Where a chart comes from, decided as Helm's `LocateChart` decides it
//! (pkg/action/install.go): a local directory or archive; a chart of the
//! repository `--repo` names; `repo/chart` from Helm's repositories.yaml,
//! with the index `helm repo update` (or `berth repo update`) cached; or a
//! chart archive's URL. `--version` takes Helm's semver constraints. A
//! downloaded chart is a temporary file that lives as long as [`Located`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_template::funcs::semver::{Constraints, Version};
use clap::Args;
use http_body_util::{BodyExt, Full, Limited};
use serde::{Deserialize, Serialize};

use crate::CliError;

pub mod deps;
pub mod oci;
pub mod provenance;

use provenance::Verified;
pub mod save;

/// Helm's chart path flags (pkg/cmd/flags.go addChartPathOptionsFlags).
#[derive(Args, Debug, Clone, Default)]
pub struct ChartPathFlags {
    /// A version constraint for a chart from a repository (e.g. 1.2.3,
    /// ^1.2, ">=1.0 <2"); default: the newest stable version.
    #[arg(long)]
    pub version: Option<String>,
    /// The chart repository's URL: CHART is then a chart name in it.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Also consider development versions (pre-releases); ignored with
    /// --version.
    #[arg(long)]
    pub devel: bool,
    #[command(flatten)]
    pub access: AccessFlags,
    /// Send the credentials to every host, not only the repository's.
    #[arg(long)]
    pub pass_credentials: bool,
    /// Run `dependency update` on the chart first if charts/ lacks a
    /// dependency Chart.yaml names (an unpacked chart only).
    #[arg(long)]
    pub dependency_update: bool,
    /// Check the chart archive against its provenance (CHART.prov,
    /// downloaded beside a repository's chart) before using it.
    #[arg(long)]
    pub verify: bool,
    /// The public keyring --verify checks with (default
    /// ~/.gnupg/pubring.gpg, as Helm).
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// Fetch the provenance beside a downloaded chart (pull's --prov).
    #[arg(skip)]
    pub prov: bool,
}

/// How to reach a chart repository or an OCI registry: Helm's credential
/// and TLS flags (also those of its `dependency` commands).
#[derive(Args, Debug, Clone, Default)]
pub struct AccessFlags {
    /// The chart repository's (or registry's) username.
    #[arg(long)]
    pub username: Option<String>,
    /// The chart repository's (or registry's) password.
    #[arg(long)]
    pub password: Option<String>,
    /// Verify the repository's HTTPS certificate with this CA bundle.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// A client certificate for the repository.
    #[arg(long, value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// The client certificate's key.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Talk to an oci:// registry over plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
    /// Do not verify the chart repository's or registry's certificate
    /// (as Helm's flag: anyone on the path can then serve another chart).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
}

/// A chart on disk: the user's own, or a download that goes with this.
pub struct Located {
    pub path: PathBuf,
    _download: Option<tempfile::TempDir>,
    /// With --verify: who signed the chart.
    pub verified: Option<Verified>,
}

/// Find the chart `chart` names, downloading it if it is not local; with
/// `--dependency-update`, fetch the dependencies it lacks. What a download
/// from a registry and the dependency update say goes to `log`.
pub async fn locate(
    chart: &Path,
    f: &ChartPathFlags,
    log: &mut (dyn std::io::Write + Send),
) -> Result<Located, CliError> {
    let mut located = find(chart, f, &mut *log).await?;
    if f.verify {
        let keyring = f
            .keyring
            .clone()
            .unwrap_or_else(provenance::default_keyring);
        let prov = PathBuf::from(format!("{}.prov", located.path.display()));
        let verified = provenance::verify(&located.path, &prov, &keyring)?;
        located.verified = Some(verified);
    }
    if f.dependency_update {
        deps::update_if_missing(&located.path, &f.access, log).await?;
    }
    Ok(located)
}

async fn find(
    chart: &Path,
    f: &ChartPathFlags,
    log: &mut (dyn std::io::Write + Send),
) -> Result<Located, CliError> {
    let name = chart.to_string_lossy().trim().to_string();
    // pkg/cmd/install.go: --devel without --version means any version.
    let version = match f.version.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => v.to_string(),
        _ if f.devel => ">0.0.0-0".to_string(),
        _ => String::new(),
    };
    if f.repo.is_none() {
        let path = Path::new(&name);
        if path.exists() {
            return Ok(Located {
                path: path.to_path_buf(),
                _download: None,
                verified: None,
            });
        }
        if path.is_absolute() || name.starts_with('.') {
            return Err(CliError::Usage(format!("path {name:?} not found")));
        }
    }
    if name.starts_with("oci://") {
        let pulled = oci::pull_with(&name, &version, &f.access, f.verify || f.prov).await?;
        pulled.report.write(log)?;
        return saved(pulled.data, &pulled.file, pulled.prov);
    }
    let flags_auth = Auth::of(f.access.username.as_deref(), f.access.password.as_deref());
    let (url, auth, tls, digest) = if let Some(repo) = &f.repo {
        let tls = Tls::of_flags(&f.access);
        let index = fetch_index(repo, flags_auth.clone(), &tls)
            .await
            .map_err(|e| {
                CliError::Other(format!(
                    "looks like {repo:?} is not a valid chart repository or cannot be reached: {e}"
                ))
            })?;
        let what = match version.as_str() {
            "" => format!("chart {name:?}"),
            v => format!("chart {name:?} version {v:?}"),
        };
        let found = index
            .get(&name, &version)
            .map_err(|_| CliError::Other(format!("{what} not found in {repo} repository")))?;
        let first = found
            .urls
            .first()
            .ok_or_else(|| CliError::Other(format!("{what} has no downloadable URLs")))?;
        let url = resolve_reference(repo, first);
        // Credentials go only where the repository is, unless asked.
        let auth = if f.pass_credentials || same_origin(repo, &url) {
            flags_auth
        } else {
            None
        };
        (url, auth, tls, content_cache::digest(&found.digest))
    } else if name.starts_with("https://")
        || name.starts_with("http://")
        || name
            .split_once("://")
            .is_some_and(|(scheme, _)| crate::plugins::getter_for(scheme).is_some())
    {
        (name.clone(), flags_auth, Tls::of_flags(&f.access), None)
    } else {
        let (repo_name, chart_name) = name.split_once('/').ok_or_else(|| {
            CliError::Usage(format!(
                "non-absolute URLs should be in form of repo_name/path_to_chart, got: {name}"
            ))
        })?;
        let entry = repository(repo_name)?;
        let cached = helm_cache_dir().join(format!("{}-index.yaml", entry.name));
        let index = std::fs::read_to_string(&cached)
            .map_err(|e| e.to_string())
            .and_then(|text| Index::parse(&text))
            .map_err(|e| {
                CliError::Other(format!(
                    "no cached repo found. (try 'berth repo update' or 'helm repo update'): {}: {e}",
                    cached.display()
                ))
            })?;
        let found = index.get(chart_name, &version).map_err(|e| {
            CliError::Other(format!(
                "chart {chart_name:?} matching {version} not found in {} index. (try 'berth repo update' or 'helm repo update'): {e}",
                entry.name
            ))
        })?;
        let first = found
            .urls
            .first()
            .ok_or_else(|| CliError::Other(format!("chart {name:?} has no downloadable URLs")))?;
        let tls = entry.tls(Some(&f.access));
        let auth = entry.auth().or(flags_auth);
        let url = resolve_reference(&entry.url, first);
        let auth =
            if entry.pass_credentials_all || f.pass_credentials || same_origin(&entry.url, &url) {
                auth
            } else {
                None
            };
        (url, auth, tls, content_cache::digest(&found.digest))
    };
    let tls = tls?;
    let download = get(
        &url,
        auth.clone(),
        &tls,
        berth::chart::Limits::default().max_packed,
    );
    let bytes = content_cache::or_fetch(digest, download)
        .await
        .map_err(|e| CliError::Other(format!("failed to download {name:?}: {e}")))?;
    // Helm's ChartDownloader fetches the provenance beside the chart.
    let prov = if f.verify || f.prov {
        let prov_url = format!("{url}.prov");
        Some(get(&prov_url, auth, &tls, MAX_PROV).await.map_err(|e| {
            CliError::Other(format!("failed to fetch provenance {prov_url:?}: {e}"))
        })?)
    } else {
        None
    };
    let base = url
        .split(['?', '#'])
        .next()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_default();
    saved(bytes, base, prov)
}

/// A chart's files written as they are below `root` (what Helm's
/// `chartutil.Expand` writes, for `pull --untar` and `lint` of an archive).
pub(crate) fn write_chart_files(
    root: &Path,
    files: &[berth::chart::BufferedFile],
) -> Result<(), CliError> {
    for f in files {
        let path = root.join(&f.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &f.data)
            .map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// The largest provenance file taken (they are a few KiB).
const MAX_PROV: u64 = 1 << 20;

/// A downloaded chart in a file of its own, named as it was (or chart.tgz),
/// with its provenance beside it if fetched.
fn saved(bytes: Vec<u8>, file: &str, prov: Option<Vec<u8>>) -> Result<Located, CliError> {
    let file = Some(file)
        .filter(|b| !b.is_empty() && !b.contains(['/', '\\', '\0']) && *b != "." && *b != "..")
        .unwrap_or("chart.tgz");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(file);
    std::fs::write(&path, bytes)?;
    if let Some(prov) = prov {
        std::fs::write(dir.path().join(format!("{file}.prov")), prov)?;
    }
    Ok(Located {
        path,
        _download: Some(dir),
        verified: None,
    })
}

/// Basic-auth credentials.
#[derive(Clone, Debug)]
struct Auth {
    username: String,
    password: String,
}

impl Auth {
    fn of(username: Option<&str>, password: Option<&str>) -> Option<Auth> {
        match (username.unwrap_or(""), password.unwrap_or("")) {
            ("", "") => None,
            (u, p) => Some(Auth {
                username: u.to_string(),
                password: p.to_string(),
            }),
        }
    }

    fn header(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// The TLS settings of Go's default HTTP client: the system's roots.
pub(crate) fn system_tls() -> Result<rustls::ClientConfig, CliError> {
    Tls::of(None, None, None, false)
}

/// The TLS settings of given CA, client certificate and key files.
pub(crate) fn tls_of(
    ca: Option<&Path>,
    cert: Option<&Path>,
    key: Option<&Path>,
    insecure: bool,
) -> Result<rustls::ClientConfig, CliError> {
    Tls::of(ca, cert, key, insecure)
}

/// The TLS settings of a repository.
struct Tls;

impl Tls {
    /// The settings the chart path flags give.
    fn of_flags(f: &AccessFlags) -> Result<rustls::ClientConfig, CliError> {
        Tls::of(
            f.ca_file.as_deref(),
            f.cert_file.as_deref(),
            f.key_file.as_deref(),
            f.insecure_skip_tls_verify,
        )
    }

    fn of(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        insecure: bool,
    ) -> Result<rustls::ClientConfig, CliError> {
        let tls = |e: berth::tls::TlsError| CliError::Tls(e.to_string());
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(ca) = ca {
            for der in berth::tls::load_certs(ca).map_err(tls)?.cert_ders() {
                roots
                    .add(der)
                    .map_err(|e| CliError::Tls(format!("{}: {e}", ca.display())))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| CliError::Tls(e.to_string()))?;
        let builder = if insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        } else {
            builder.with_root_certificates(roots)
        };
        match (cert, key) {
            (Some(cert), Some(key)) => {
                let certs = berth::tls::load_certs(cert).map_err(tls)?.cert_ders();
                let key = berth::tls::load_key(key)
                    .map_err(tls)?
                    .key_der()
                    .map_err(tls)?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| CliError::Tls(format!("{}: {e}", cert.display())))
            }
            (None, None) => Ok(builder.with_no_client_auth()),
            _ => Err(CliError::Usage(
                "--cert-file and --key-file go together".into(),
            )),
        }
    }
}

/// `--insecure-skip-tls-verify`: any certificate and name (Go's
/// InsecureSkipVerify), the handshake's signatures still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// GET `url`, following redirects as Go's client does (at most 10; the
/// credentials only to the same host), refusing more than `max` bytes and
/// any answer but 200 (Helm's "failed to fetch URL : STATUS").
async fn get(
    url: &str,
    auth: Option<Auth>,
    tls: &rustls::ClientConfig,
    max: u64,
) -> Result<Vec<u8>, String> {
    if let Some((scheme, _)) = url.split_once("://")
        && !scheme.eq_ignore_ascii_case("http")
        && !scheme.eq_ignore_ascii_case("https")
    {
        return get_with_plugin(url, scheme, auth, max).await;
    }
    let authorization = auth.map(|a| a.header());
    let answer = fetch(url, authorization.as_deref(), &[], tls, max).await?;
    if answer.status != http::StatusCode::OK {
        return Err(format!(
            "failed to fetch {} : {}",
            answer.url, answer.status
        ));
    }
    Ok(answer.body)
}

/// A download through the getter plugin of `scheme` (as Helm's getter
/// providers: `s3://`, `gs://`, … served by helm-s3 and its kin).
async fn get_with_plugin(
    url: &str,
    scheme: &str,
    auth: Option<Auth>,
    max: u64,
) -> Result<Vec<u8>, String> {
    let plugin = crate::plugins::getter_for(scheme)
        .ok_or_else(|| format!("could not find protocol handler for: {scheme}"))?;
    let (user, pass) = auth.map(|a| (a.username, a.password)).unwrap_or_default();
    let vars: Vec<(String, String)> = crate::cmd::env::helm_paths()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let bytes = crate::plugins::get(&plugin, url, ["", "", ""], (&user, &pass, false), &vars)
        .await
        .map_err(|e| format!("plugin {:?} failed to invoke: {e}", plugin.meta.name))?;
    if bytes.len() as u64 > max {
        return Err(format!("{url}: more than {max} bytes"));
    }
    Ok(bytes)
}

/// What a GET came back with, after redirects.
pub(crate) struct Answer {
    pub url: String,
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// GET `url` with an Authorization header (sent only while the redirects
/// stay on its origin) and other headers; whatever the status.
pub(crate) async fn fetch(
    url: &str,
    authorization: Option<&str>,
    headers: &[(&str, &str)],
    tls: &rustls::ClientConfig,
    max: u64,
) -> Result<Answer, String> {
    send(
        http::Method::GET,
        url,
        authorization,
        headers,
        bytes::Bytes::new(),
        tls,
        max,
    )
    .await
}

/// A request with a body; GET and HEAD follow redirects as Go's client
/// does (at most 10, the Authorization header only on the first origin),
/// other methods answer with the redirect itself. Whatever the status.
pub(crate) async fn send(
    method: http::Method,
    url: &str,
    authorization: Option<&str>,
    headers: &[(&str, &str)],
    body: bytes::Bytes,
    tls: &rustls::ClientConfig,
    max: u64,
) -> Result<Answer, String> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https);
    let follows = method == http::Method::GET || method == http::Method::HEAD;
    let mut url = url.to_string();
    let first = origin(&url);
    for _ in 0..10 {
        let mut req = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .header("user-agent", concat!("berth/", env!("CARGO_PKG_VERSION")));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(a) = authorization.filter(|_| origin(&url) == first) {
            req = req.header("authorization", a);
        }
        let req = req
            .body(Full::new(body.clone()))
            .map_err(|e| format!("{url}: {e}"))?;
        let resp = client
            .request(req)
            .await
            .map_err(|e| format!("{url}: {}", crate::connect::chain(&e)))?;
        let status = resp.status();
        if follows && status.is_redirection() {
            let location = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| format!("{url}: {status} without a Location"))?;
            url = resolve_reference_exact(&url, location);
            continue;
        }
        let headers = resp.headers().clone();
        let body = Limited::new(resp.into_body(), max as usize)
            .collect()
            .await
            .map_err(|e| format!("{url}: {e} (the limit is {max} bytes)"))?;
        return Ok(Answer {
            url,
            status,
            headers,
            body: body.to_bytes().to_vec(),
        });
    }
    Err(format!("{url}: stopped after 10 redirects"))
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    )
}

fn same_origin(a: &str, b: &str) -> bool {
    origin(a) == origin(b)
}

/// Helm's ResolveReferenceURL: `reference` against `base` taken as a
/// directory (a trailing slash added), keeping the base's query.
pub fn resolve_reference(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    let (base, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    let dir = format!("{}/", base.trim_end_matches('/'));
    let resolved = resolve_reference_exact(&dir, reference);
    let resolved = resolved.split('?').next().unwrap_or(&resolved).to_string();
    match query {
        Some(q) => format!("{resolved}?{q}"),
        None => resolved,
    }
}

/// RFC 3986 reference resolution for what repositories and redirects use:
/// absolute URLs, `//host/p`, `/path`, and relative paths with `.` and `..`.
fn resolve_reference_exact(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    if let Some(net) = reference.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    let path = rest[host_end..].split(['?', '#']).next().unwrap_or("");
    let joined = if reference.starts_with('/') {
        reference.to_string()
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{}{reference}", if dir.is_empty() { "/" } else { dir })
    };
    let (joined, tail) = match joined.find(['?', '#']) {
        Some(i) => (joined[..i].to_string(), joined[i..].to_string()),
        None => (joined, String::new()),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = joined.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == segments.len() - 1 {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if i == segments.len() - 1 {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("{scheme}://{host}/{}{tail}", out.join("/"))
}

/// A repository's index.yaml, as much of it as finding a chart needs.
#[derive(Deserialize, Debug, Default)]
pub struct Index {
    #[serde(default, rename = "apiVersion")]
    api_version: String,
    #[serde(default)]
    entries: BTreeMap<String, Vec<Option<ChartVersion>>>,
}

/// One version of a chart in an index.
#[derive(Deserialize, Debug, Clone, Default)]
pub struct ChartVersion {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub urls: Vec<String>,
    /// The archive's sha256 (hex), what Helm's content cache keys it by.
    #[serde(default)]
    pub digest: String,
    #[serde(default, rename = "appVersion")]
    pub app_version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub keywords: Vec<String>,
}

impl Index {
    /// Helm's LoadIndexFile: the versions of each chart newest first
    /// (SortEntries; versions that are not semver last).
    pub fn parse(text: &str) -> Result<Index, String> {
        // Public indexes run to tens of MiB (millions of nodes): the
        // default budget of serde-saphyr is for documents, not these.
        let budget = serde_saphyr::budget! {
            max_nodes: 64_000_000,
            max_events: 128_000_000,
            max_total_scalar_bytes: MAX_INDEX as usize,
            max_depth: 128,
            max_buffered_comment_events: usize::MAX,
        };
        let opts = serde_saphyr::options! {
            budget: budget,
            with_snippet: false,
        };
        let mut index: Index = serde_saphyr::from_str_with_options(text, opts).map_err(|e| {
            let e = e.to_string();
            e.lines().next().unwrap_or_default().to_string()
        })?;
        if index.api_version.is_empty() {
            return Err("no API version specified".into());
        }
        for versions in index.entries.values_mut() {
            versions.retain(Option::is_some);
            fn version(c: &Option<ChartVersion>) -> &str {
                c.as_ref().map_or("", |c| c.version.as_str())
            }
            versions.sort_by(|a, b| newest_first(version(a), version(b)));
        }
        Ok(index)
    }

    /// Each chart's versions, newest first, charts by name.
    pub fn charts(&self) -> impl Iterator<Item = (&str, Vec<&ChartVersion>)> {
        self.entries
            .iter()
            .map(|(name, versions)| (name.as_str(), versions.iter().flatten().collect()))
    }

    /// Helm's IndexFile.Get: an exact version string first, else the newest
    /// version the constraint takes ("*", stable versions only, if none).
    pub fn get(&self, name: &str, version: &str) -> Result<&ChartVersion, String> {
        let versions: Vec<&ChartVersion> = self
            .entries
            .get(name)
            .ok_or("no chart name found")?
            .iter()
            .flatten()
            .collect();
        if versions.is_empty() {
            return Err("no chart version found".into());
        }
        let constraint = Constraints::parse(if version.is_empty() { "*" } else { version })?;
        if !version.is_empty()
            && let Some(exact) = versions.iter().find(|v| v.version == version)
        {
            return Ok(exact);
        }
        versions
            .into_iter()
            .find(|v| Version::parse(&v.version).is_ok_and(|t| constraint.check(&t)))
            .ok_or_else(|| format!("no chart version found for {name}-{version}"))
    }
}

/// Helm's order of chart versions and registry tags: the newest semver
/// first, what is not semver last.
pub(crate) fn newest_first(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (Version::parse(a), Version::parse(b)) {
        (Ok(x), Ok(y)) => y.compare(&x),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// GET `repo`'s index.yaml and read it.
async fn fetch_index(
    repo: &str,
    auth: Option<Auth>,
    tls: &Result<rustls::ClientConfig, CliError>,
) -> Result<Index, String> {
    let tls = tls.as_ref().map_err(|e| e.to_string())?;
    let url = resolve_reference(repo, "index.yaml");
    let text = get(&url, auth, tls, MAX_INDEX).await?;
    let text = String::from_utf8(text).map_err(|_| format!("{url}: not UTF-8"))?;
    Index::parse(&text).map_err(|e| format!("{url}: {e}"))
}

/// The largest index.yaml read (the biggest public ones are tens of MiB).
const MAX_INDEX: u64 = 256 << 20;

/// Helm's repositories.yaml.
#[derive(Deserialize, Serialize, Debug, Default)]
pub struct RepoFile {
    #[serde(default, rename = "apiVersion")]
    pub api_version: String,
    #[serde(default)]
    pub generated: String,
    #[serde(default)]
    pub repositories: Vec<RepoEntry>,
}

/// One repository of repositories.yaml (pkg/repo/v1 Entry; Helm writes
/// every field, "" for none).
#[derive(Deserialize, Serialize, Debug, Default, Clone, PartialEq)]
pub struct RepoEntry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default, rename = "certFile")]
    pub cert_file: String,
    #[serde(default, rename = "keyFile")]
    pub key_file: String,
    #[serde(default, rename = "caFile")]
    pub ca_file: String,
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
    #[serde(default)]
    pub pass_credentials_all: bool,
}

impl RepoEntry {
    fn tls(&self, f: Option<&AccessFlags>) -> Result<rustls::ClientConfig, CliError> {
        let own = |s: &str| (!s.is_empty()).then(|| PathBuf::from(s));
        let or = |s: &str, flag: Option<&PathBuf>| own(s).or_else(|| flag.cloned());
        let ca = or(&self.ca_file, f.and_then(|f| f.ca_file.as_ref()));
        let cert = or(&self.cert_file, f.and_then(|f| f.cert_file.as_ref()));
        let key = or(&self.key_file, f.and_then(|f| f.key_file.as_ref()));
        let insecure =
            self.insecure_skip_tls_verify || f.is_some_and(|f| f.insecure_skip_tls_verify);
        Tls::of(ca.as_deref(), cert.as_deref(), key.as_deref(), insecure)
    }

    fn auth(&self) -> Option<Auth> {
        Auth::of(Some(&self.username), Some(&self.password))
    }

    /// [`Self::download_index`] within `timeout` (Helm's `--timeout` of
    /// `repo add` and `repo update`), in Go's words when it runs out.
    pub async fn download_index_within(
        &self,
        timeout: std::time::Duration,
    ) -> Result<String, String> {
        match tokio::time::timeout(timeout, self.download_index()).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "Get {:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                resolve_reference(&self.url, "index.yaml")
            )),
        }
    }

    /// Download the repository's index.yaml, checked to read as one: what
    /// `helm repo add` and `helm repo update` cache.
    pub async fn download_index(&self) -> Result<String, String> {
        let tls = self.tls(None).map_err(|e| e.to_string())?;
        let url = resolve_reference(&self.url, "index.yaml");
        let bytes = get(&url, self.auth(), &tls, MAX_INDEX).await?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{url}: not UTF-8"))?;
        Index::parse(&text).map_err(|e| format!("{url}: {e}"))?;
        Ok(text)
    }
}

/// Helm's `getter.DefaultHTTPTimeout`: how long an index download may take.
pub const INDEX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Where Helm caches the index of the repository `name`.
pub fn index_path(name: &str) -> PathBuf {
    helm_cache_dir().join(format!("{name}-index.yaml"))
}

/// Cache the index of the repository `name` where Helm keeps it.
pub fn write_index(name: &str, index: &str) -> Result<(), CliError> {
    write_replacing(&index_path(name), index, false)
}

/// Download the repositories' indexes all at once (Helm's
/// parallelRepoUpdate), cache each that came, and report each in Helm's
/// words (a repository the dependency manager named after its URL, by
/// that URL); the URLs of those that failed.
pub async fn refresh(
    repos: &[RepoEntry],
    timeout: std::time::Duration,
    out: &mut (dyn std::io::Write + Send),
) -> Result<Vec<String>, CliError> {
    let indexes =
        futures::future::join_all(repos.iter().map(|r| r.download_index_within(timeout))).await;
    let mut failed = Vec::new();
    for (r, index) in repos.iter().zip(indexes) {
        let unmanaged = r.name.starts_with(deps::MANAGER_PREFIX);
        let shown = if unmanaged { &r.url } else { &r.name };
        match index.and_then(|text| write_index(&r.name, &text).map_err(|e| e.to_string())) {
            Ok(()) => writeln!(
                out,
                "...Successfully got an update from the {shown:?} chart repository"
            )?,
            Err(e) => {
                let url = if unmanaged {
                    String::new()
                } else {
                    format!(" ({})", r.url)
                };
                writeln!(
                    out,
                    "...Unable to get an update from the {shown:?} chart repository{url}:\n\t{e}"
                )?;
                failed.push(r.url.clone());
            }
        }
    }
    Ok(failed)
}

/// Replace `path` whole (berth's atomic write), making its directory first.
pub(crate) fn write_replacing(path: &Path, text: &str, private: bool) -> Result<(), CliError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    berth::tls::write_file(path, text, private).map_err(|e| CliError::Other(e.to_string()))
}

/// The repository `name` of Helm's repositories.yaml.
fn repository(name: &str) -> Result<RepoEntry, CliError> {
    let file = read_repo_file(&helm_repository_config())?;
    file.repositories
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| CliError::Other(format!("repo {name} not found")))
}

/// Read repositories.yaml; none is an empty one.
pub fn read_repo_file(path: &Path) -> Result<RepoFile, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_saphyr::from_str_with_options(
            &text,
            serde_saphyr::options! { budget: berth::manifest::yaml_budget() },
        )
        .map_err(|e| {
            let e = e.to_string();
            CliError::Other(format!(
                "{}: {}",
                path.display(),
                e.lines().next().unwrap_or_default()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RepoFile::default()),
        Err(e) => Err(CliError::Other(format!("{}: {e}", path.display()))),
    }
}

/// Helm's `$HELM_REPOSITORY_CONFIG` (helmpath: the config home's
/// repositories.yaml).
pub fn helm_repository_config() -> PathBuf {
    if let Some(p) = std::env::var_os("HELM_REPOSITORY_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    helm_home("HELM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config").join("repositories.yaml")
}

/// Helm v4's `$HELM_CONTENT_CACHE` (`--content-cache`; the cache home's
/// content/): downloaded charts by their sha256.
pub fn content_cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("HELM_CONTENT_CACHE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    helm_home("HELM_CACHE_HOME", "XDG_CACHE_HOME", ".cache").join("content")
}

/// Helm v4's content cache of charts (its downloader's `DiskCache`): a chart
/// whose repository index gives its sha256 is kept as
/// `<cache>/<first byte>/<sha256>.chart` once downloaded and read from
/// there next time, so Helm and berth share what either fetched. Unlike
/// Helm, berth reads a cached chart only if its content has that digest,
/// and keeps a download only if it does (a stale index digest makes no
/// cache entry, as it makes no error); a cache that cannot be written is
/// no reason to fail.
mod content_cache {
    use std::path::PathBuf;

    use berth::chart::sha256_hex;

    /// An index's `digest` (hex, `sha256:` before it or not) as bytes.
    pub(super) fn digest(text: &str) -> Option<[u8; 32]> {
        let hex_text = text.trim();
        let hex_text = hex_text.strip_prefix("sha256:").unwrap_or(hex_text);
        hex::decode(hex_text).ok()?.try_into().ok()
    }

    fn path(d: &[u8; 32]) -> PathBuf {
        super::content_cache_dir()
            .join(format!("{:02x}", d[0]))
            .join(format!("{}.chart", hex::encode(d)))
    }

    /// The chart with this digest: from the cache when it is there and
    /// whole, else from `fetch`, then kept. No digest: `fetch` alone.
    pub(super) async fn or_fetch<E>(
        digest: Option<[u8; 32]>,
        fetch: impl std::future::Future<Output = Result<Vec<u8>, E>>,
    ) -> Result<Vec<u8>, E> {
        if let Some(bytes) = digest.as_ref().and_then(get) {
            return Ok(bytes);
        }
        let bytes = fetch.await?;
        if let Some(d) = &digest {
            put(d, &bytes);
        }
        Ok(bytes)
    }

    /// The cached chart with this digest, if it is there and whole.
    fn get(d: &[u8; 32]) -> Option<Vec<u8>> {
        let bytes = std::fs::read(path(d)).ok()?;
        (sha256_hex(&bytes) == hex::encode(d)).then_some(bytes)
    }

    /// Keep a downloaded chart under its digest (written beside it, then
    /// renamed: a reader never sees half a file).
    fn put(d: &[u8; 32], bytes: &[u8]) {
        if sha256_hex(bytes) != hex::encode(d) {
            return;
        }
        let path = path(d);
        let Some(dir) = path.parent() else {
            return;
        };
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| tempfile::NamedTempFile::new_in(dir))
            .and_then(|mut tmp| {
                std::io::Write::write_all(&mut tmp, bytes)?;
                tmp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            });
        if let Err(e) = written {
            tracing::debug!("content cache: cannot keep {}: {e}", path.display());
        }
    }
}

/// Helm's `$HELM_REPOSITORY_CACHE` (the cache home's repository/).
pub fn helm_cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("HELM_REPOSITORY_CACHE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    helm_home("HELM_CACHE_HOME", "XDG_CACHE_HOME", ".cache").join("repository")
}

pub(crate) fn helm_home(own: &str, xdg: &str, fallback: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(own).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os(xdg).filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("helm");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(fallback).join("helm")
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "apiVersion: v1\nentries:\n  web:\n    - version: 1.2.0\n      urls: [web-1.2.0.tgz]\n    - version: 2.0.0-rc.1\n      urls: [web-2.0.0-rc.1.tgz]\n    - version: 1.10.0\n      urls: [https://cdn.example/web-1.10.0.tgz]\n    - version: not-semver\n      urls: [odd.tgz]\n";

    #[test]
    fn the_newest_stable_version_unless_a_constraint_says_otherwise() {
        let index = Index::parse(INDEX).unwrap();
        assert_eq!(index.get("web", "").unwrap().version, "1.10.0");
        assert_eq!(index.get("web", "~1.2").unwrap().version, "1.2.0");
        assert_eq!(index.get("web", ">0.0.0-0").unwrap().version, "2.0.0-rc.1");
        // As Helm: the constraint is parsed before an exact match is looked for.
        assert!(index.get("web", "not-semver").is_err());
        assert_eq!(
            index.get("web", "3.x").unwrap_err(),
            "no chart version found for web-3.x"
        );
        assert_eq!(index.get("db", "").unwrap_err(), "no chart name found");
        assert_eq!(
            Index::parse("entries: {}\n").unwrap_err(),
            "no API version specified"
        );
    }

    #[test]
    fn an_index_past_a_documents_budget_still_reads() {
        // ~300,000 nodes: more than serde-saphyr's default 250,000.
        let mut text = String::from("apiVersion: v1\nentries:\n");
        for c in 0..300 {
            text.push_str(&format!("  c{c}:\n"));
            for v in 0..100 {
                text.push_str(&format!(
                    "    - {{name: c{c}, version: 1.{v}.0, digest: d, urls: [c{c}-1.{v}.0.tgz]}}\n"
                ));
            }
        }
        let index = Index::parse(&text).unwrap();
        assert_eq!(index.get("c299", "").unwrap().version, "1.99.0");
    }

    #[test]
    fn chart_urls_resolve_against_the_repository_as_a_directory() {
        let r = resolve_reference;
        assert_eq!(
            r("https://h/charts", "web-1.tgz"),
            "https://h/charts/web-1.tgz"
        );
        assert_eq!(
            r("https://h/charts/", "web-1.tgz"),
            "https://h/charts/web-1.tgz"
        );
        assert_eq!(r("https://h/charts", "/x/web.tgz"), "https://h/x/web.tgz");
        assert_eq!(r("https://h/a/b", "../web.tgz"), "https://h/a/web.tgz");
        assert_eq!(r("https://h/c?t=1", "w.tgz"), "https://h/c/w.tgz?t=1");
        assert_eq!(r("https://h/c", "https://o/w.tgz"), "https://o/w.tgz");
        assert_eq!(r("http://h:8080", "index.yaml"), "http://h:8080/index.yaml");
        assert!(same_origin("https://H:1/a", "https://h:1/b"));
        assert!(!same_origin("https://h:1/a", "https://h:2/a"));
    }
}
