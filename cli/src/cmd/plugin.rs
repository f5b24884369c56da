//! `berth plugin install|list|uninstall|update`, Helm v4's plugin verbs
//! (pkg/cmd/plugin_*.go), and `berth NAME ARGS…` running the CLI plugin
//! NAME as `helm NAME ARGS…` does (pkg/cmd/load_plugins.go). The plugins
//! directory is Helm's, so a plugin installed by either tool serves both.
//!
//! Where berth parts from Helm: a plugin whose plugin.yaml does not load is
//! refused before anything is written (Helm installs it and then says
//! "installed but unusable", leaving a plugin it cannot uninstall), and
//! every install goes to the plugins directory `plugin list` reads
//! (`$HELM_PLUGINS`; Helm puts local and HTTP installs under
//! `$HELM_DATA_HOME/plugins` whatever `$HELM_PLUGINS` says).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::charts::provenance;
use crate::plugins::{self, Plugin};
use crate::{CliError, Global, Io};

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Install a Helm plugin from a directory, a .tgz (a path or an
    /// http(s) URL), an OCI registry or a Git repository.
    #[command(
        alias = "add",
        after_help = "Examples:\n  berth plugin install ./my-plugin\n  berth plugin install https://example.com/diff-3.1.0.tgz\n  berth plugin install https://github.com/helm-unittest/helm-unittest --version 1.x --verify=false\n  berth plugin install oci://ghcr.io/acme/plugins/lint:1.2.0"
    )]
    Install(InstallArgs),
    /// List the installed Helm plugins.
    #[command(
        alias = "ls",
        after_help = "Examples:\n  berth plugin list\n  berth plugin list --type getter/v1"
    )]
    List(ListArgs),
    /// Uninstall one or more Helm plugins.
    #[command(
        aliases = ["rm", "remove"],
        after_help = "Examples:\n  berth plugin uninstall diff\n  berth plugin uninstall diff secrets"
    )]
    Uninstall(NamesArgs),
    /// Update one or more Helm plugins (those installed from Git).
    #[command(
        alias = "up",
        after_help = "Examples:\n  berth plugin update diff\n  berth plugin update diff secrets"
    )]
    Update(NamesArgs),
    /// Package a plugin directory into NAME-VERSION.tgz, signed (.prov
    /// beside it) unless --sign=false.
    #[command(
        after_help = "Examples:\n  berth plugin package ./my-plugin --key 'Plugin Signer' --keyring ~/.gnupg/secring.gpg\n  berth plugin package ./my-plugin --sign=false -d dist"
    )]
    Package(PackageArgs),
    /// Check a plugin archive against the .prov beside it.
    #[command(
        after_help = "Examples:\n  berth plugin verify diff-3.1.0.tgz\n  berth plugin verify diff-3.1.0.tgz --keyring ~/.gnupg/pubring.gpg"
    )]
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct PackageArgs {
    /// The plugin directory.
    pub path: PathBuf,
    /// Sign the archive with --key of --keyring (`--sign=false` to skip).
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_value = "true",
        default_missing_value = "true",
        value_parser = go_bool
    )]
    pub sign: bool,
    /// The keyring holding the secret signing key (default
    /// ~/.gnupg/pubring.gpg); the key is named by --key, as with Helm.
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// A file whose first line unlocks the signing key ("-": stdin).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Where to write the archive.
    #[arg(short = 'd', long, default_value = ".")]
    pub destination: PathBuf,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The plugin archive; its provenance is PATH.prov.
    pub path: PathBuf,
    /// The public keyring to check the signature with.
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// A directory, a .tgz or .tar.gz (path or URL), an oci:// reference,
    /// or a Git URL.
    pub source: String,
    /// A Git tag, branch or commit, or a semver constraint on the
    /// repository's tags (Git sources).
    #[arg(long)]
    pub version: Option<String>,
    /// Check the archive's .prov signature before installing (archives;
    /// `--verify=false` to skip, as Helm).
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_value = "true",
        default_missing_value = "true",
        value_parser = go_bool
    )]
    pub verify: bool,
    /// The keyring to check signatures with (default ~/.gnupg/pubring.gpg).
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// How to reach an OCI registry or the server of an http(s) archive
    /// (--username and --password as basic authentication).
    #[command(flatten)]
    pub access: crate::charts::AccessFlags,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only plugins of this type (cli/v1, getter/v1, postrenderer/v1).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
}

#[derive(Args, Debug)]
pub struct NamesArgs {
    /// Plugin names.
    pub names: Vec<String>,
}

fn go_bool(s: &str) -> Result<bool, String> {
    super::go_parse_bool(s)
        .ok_or_else(|| format!("strconv.ParseBool: parsing {s:?}: invalid syntax"))
}

pub async fn run(g: &Global, c: PluginCommand, io: &mut Io) -> Result<(), CliError> {
    let vars = super::env::plugin_vars(g);
    match c {
        PluginCommand::Install(a) => install(a, &vars, io).await,
        PluginCommand::List(a) => list(a, io),
        PluginCommand::Uninstall(a) => uninstall(a, &vars, io),
        PluginCommand::Update(a) => update(a, &vars, io),
        PluginCommand::Package(a) => package(g, a, io),
        PluginCommand::Verify(a) => verify(a, io),
    }
}

fn other(s: impl Into<String>) -> CliError {
    CliError::Other(s.into())
}

fn warn_to(io: &mut Io) -> impl FnMut(String) + '_ {
    move |m: String| {
        let _ = writeln!(io.err, "WARNING: {m}");
    }
}

// ---- list -------------------------------------------------------------------

fn list(a: ListArgs, io: &mut Io) -> Result<(), CliError> {
    let found = {
        let mut warn = warn_to(io);
        plugins::find(a.kind.as_deref(), None, &mut warn).map_err(other)?
    };
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|p| {
            let m = &p.meta;
            vec![
                m.name.clone(),
                m.version.clone(),
                m.kind.clone(),
                m.api_version.clone(),
                provenance_status(p).into(),
                if m.source_url.is_empty() {
                    "unknown".into()
                } else {
                    m.source_url.clone()
                },
            ]
            .into_iter()
            .map(|c| crate::output::sanitize(&c).into_owned())
            .collect()
        })
        .collect();
    crate::output::table(
        &mut *io.out,
        &[
            "NAME",
            "VERSION",
            "TYPE",
            "APIVERSION",
            "PROVENANCE",
            "SOURCE",
        ],
        &rows,
    )?;
    Ok(())
}

/// Helm's `GetPluginSigningInfo`: a linked directory is "local dev"; else
/// the archive it was installed from, kept beside it, and that archive's
/// .prov say whether it was signed (the hash compared, not the signature).
fn provenance_status(p: &Plugin) -> &'static str {
    let Ok(meta) = std::fs::symlink_metadata(&p.dir) else {
        return "unknown";
    };
    if meta.file_type().is_symlink() {
        return "local dev";
    }
    let archive = archive_path(&p.dir, &p.meta.name, &p.meta.version);
    let Ok(data) = std::fs::read(&archive) else {
        return "unsigned";
    };
    let Ok(prov) = std::fs::read_to_string(format!("{}.prov", archive.display())) else {
        return "unsigned";
    };
    let Some(sums) = provenance::signed_sums(&prov) else {
        return "invalid provenance";
    };
    let base = archive
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let hash = format!("sha256:{}", berth::chart::sha256_hex(&data));
    if sums
        .iter()
        .any(|(file, sum)| file.contains(&base) && *sum == hash)
    {
        "signed"
    } else {
        "mismatched provenance"
    }
}

/// `<plugins>/<name>-<version>.tgz`: the archive a plugin was installed
/// from, kept beside its directory.
fn archive_path(plugin_dir: &Path, name: &str, version: &str) -> PathBuf {
    plugin_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("{name}-{version}.tgz"))
}

// ---- install ------------------------------------------------------------------

const ARCHIVE_SUFFIXES: [&str; 2] = [".tar.gz", ".tgz"];
/// The most an archive may hold, unpacked.
const MAX_UNPACKED: u64 = 1 << 30;
const MAX_DOWNLOAD: u64 = 256 << 20;

enum Source {
    Oci(String),
    Dir(PathBuf),
    Archive { path: PathBuf },
    Http(String),
    Git(String),
}

async fn classify(a: &InstallArgs) -> Result<Source, CliError> {
    let s = a.source.as_str();
    if s.starts_with("oci://") {
        return Ok(Source::Oci(s.to_string()));
    }
    if std::fs::metadata(s).is_ok() {
        let path = berth::chart::go_abs(Path::new(s));
        return Ok(if is_archive(s) {
            Source::Archive { path }
        } else {
            Source::Dir(path)
        });
    }
    if (s.starts_with("http://") || s.starts_with("https://")) && is_http_archive(a).await {
        return Ok(Source::Http(s.to_string()));
    }
    // Masterminds/vcs's detection: the remote answers as a Git repository.
    git(None, &["ls-remote", "--quiet", s, "HEAD"])?;
    Ok(Source::Git(s.to_string()))
}

fn is_archive(s: &str) -> bool {
    ARCHIVE_SUFFIXES.iter().any(|x| s.ends_with(x))
}

/// Helm's `isRemoteHTTPArchive`: an archive suffix, or a HEAD answered
/// with a gzip media type.
async fn is_http_archive(a: &InstallArgs) -> bool {
    if is_archive(&a.source) {
        return true;
    }
    let Ok(tls) = tls(a) else { return false };
    let auth = authorization(a);
    let Ok(answer) = crate::charts::send(
        http::Method::HEAD,
        &a.source,
        auth.as_deref(),
        &[],
        bytes::Bytes::new(),
        &tls,
        0,
    )
    .await
    else {
        return false;
    };
    let kind = answer
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(
        kind.as_str(),
        "application/gzip" | "application/x-gzip" | "application/x-tgz" | "application/x-gtar"
    )
}

fn tls(a: &InstallArgs) -> Result<rustls::ClientConfig, CliError> {
    let f = &a.access;
    crate::charts::tls_of(
        f.ca_file.as_deref(),
        f.cert_file.as_deref(),
        f.key_file.as_deref(),
        f.insecure_skip_tls_verify,
    )
}

/// `Authorization` for --username and --password.
fn authorization(a: &InstallArgs) -> Option<String> {
    use base64::Engine;
    let f = &a.access;
    let user = f.username.as_deref().filter(|u| !u.is_empty())?;
    let pair = format!("{user}:{}", f.password.as_deref().unwrap_or_default());
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

/// Helm's `stripPluginName`: the archive's name without its suffix and a
/// `-VERSION` tail.
fn strip_plugin_name(file: &str) -> String {
    let stem = ARCHIVE_SUFFIXES
        .iter()
        .find_map(|x| file.strip_suffix(x))
        .unwrap_or("");
    // (.*)-\d+\..*  — the last "-<digits>." wins, as the greedy (.*) does.
    let b = stem.as_bytes();
    for i in (0..b.len()).rev() {
        if b[i] == b'-' {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 && b.get(i + 1 + digits) == Some(&b'.') {
                return stem[..i].to_string();
            }
        }
    }
    stem.to_string()
}

async fn install(a: InstallArgs, vars: &[(String, String)], io: &mut Io) -> Result<(), CliError> {
    let source = classify(&a).await.map_err(|e| {
        other(format!(
            "cannot get information about plugin source {:?} (if it's a local directory, does it exist?), last error was: {e}",
            a.source
        ))
    })?;
    // The first of the plugins directories (Helm joins the whole list).
    let base = plugins::directories()
        .into_iter()
        .next()
        .unwrap_or_else(plugins::directory);
    let keyring = a
        .keyring
        .clone()
        .unwrap_or_else(provenance::default_keyring);
    let verify = match &source {
        Source::Dir(_) => {
            writeln!(
                io.out,
                "Installing plugin from local directory (development mode)"
            )?;
            false
        }
        _ if !a.verify => {
            writeln!(io.out, "WARNING: Skipping plugin signature verification")?;
            false
        }
        Source::Git(_) => {
            return Err(other(
                "plugin source does not support verification. Use --verify=false to skip verification",
            ));
        }
        _ => true,
    };
    if verify {
        writeln!(io.out, "Verifying plugin signature...")?;
    }
    let installed = match source {
        Source::Dir(src) => install_dir(&src, &base)?,
        Source::Archive { path } => {
            let data = std::fs::read(&path).map_err(|e| {
                other(format!(
                    "failed to read archive: {}",
                    berth::values::go_read_error(&path.display().to_string(), &e)
                ))
            })?;
            let prov = std::fs::read_to_string(format!("{}.prov", path.display())).ok();
            let file = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            install_archive(
                &data,
                prov,
                &file,
                false,
                &base,
                verify.then_some(&keyring),
                io,
            )?
        }
        Source::Http(url) => {
            let tls = tls(&a)?;
            let auth = authorization(&a);
            let data = download(&url, auth.as_deref(), &tls).await?;
            let prov = download(&format!("{url}.prov"), auth.as_deref(), &tls)
                .await
                .ok();
            let prov = prov.and_then(|p| String::from_utf8(p).ok());
            let file = url.rsplit('/').next().unwrap_or_default().to_string();
            let file = file
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .to_string();
            install_archive(
                &data,
                prov,
                &file,
                true,
                &base,
                verify.then_some(&keyring),
                io,
            )?
        }
        Source::Git(url) => install_git(&url, a.version.as_deref(), &base)?,
        Source::Oci(reference) => {
            let pulled = crate::charts::oci::pull_plugin(&reference, &a.access).await?;
            pulled.report.write(&mut *io.out)?;
            let prov = pulled.prov.and_then(|p| String::from_utf8(p).ok());
            install_archive(
                &pulled.data,
                prov,
                &pulled.file,
                true,
                &base,
                verify.then_some(&keyring),
                io,
            )?
        }
    };
    plugins::run_hook(&installed, plugins::INSTALL, vars)?;
    writeln!(io.out, "Installed plugin: {}", installed.meta.name)?;
    Ok(())
}

async fn download(
    url: &str,
    authorization: Option<&str>,
    tls: &rustls::ClientConfig,
) -> Result<Vec<u8>, CliError> {
    let answer = crate::charts::fetch(url, authorization, &[], tls, MAX_DOWNLOAD)
        .await
        .map_err(other)?;
    if answer.status != http::StatusCode::OK {
        return Err(other(format!(
            "failed to fetch {} : {}",
            answer.url, answer.status
        )));
    }
    Ok(answer.body)
}

fn exists_error(target: &Path) -> Result<(), CliError> {
    if std::fs::symlink_metadata(target).is_ok() {
        return Err(other(format!(
            "plugin already exists: {}",
            target.display()
        )));
    }
    Ok(())
}

/// The plugin a directory holds, or why it is not one (nothing written).
fn check_plugin(dir: &Path) -> Result<Plugin, CliError> {
    plugins::load_dir(dir).map_err(other)
}

/// The plugin checked in `plugin` where its files were put: `target`.
fn placed(plugin: Plugin, target: PathBuf) -> Plugin {
    Plugin {
        dir: target,
        ..plugin
    }
}

fn install_dir(src: &Path, base: &Path) -> Result<Plugin, CliError> {
    let name = src.file_name().unwrap_or_default();
    let target = base.join(name);
    exists_error(&target)?;
    let meta = std::fs::metadata(src)?;
    if !meta.is_dir() {
        return Err(other(
            "expected plugin to be a directory (containing a file 'plugin.yaml')",
        ));
    }
    if !src.join(plugins::FILE).exists() {
        return Err(other("plugin metadata (plugin.yaml) missing"));
    }
    let plugin = check_plugin(src)?;
    std::fs::create_dir_all(base)?;
    std::os::unix::fs::symlink(src, &target)?;
    Ok(placed(plugin, target))
}

fn install_archive(
    data: &[u8],
    prov: Option<String>,
    file: &str,
    detect_root: bool,
    base: &Path,
    keyring: Option<&PathBuf>,
    io: &mut Io,
) -> Result<Plugin, CliError> {
    let name = strip_plugin_name(file);
    let target = base.join(&name);
    exists_error(&target)?;
    if let Some(keyring) = keyring {
        let Some(prov) = prov.as_deref() else {
            return Err(other(
                "plugin verification failed: no provenance file (.prov) found",
            ));
        };
        let verified = provenance::verify_bytes(data, file, prov, keyring)
            .map_err(|e| other(format!("plugin verification failed: {e}")))?;
        for who in &verified.signed_by {
            writeln!(io.out, "Signed by: {who}")?;
        }
        writeln!(
            io.out,
            "Using Key With Fingerprint: {}",
            verified.fingerprint
        )?;
        writeln!(io.out, "Plugin Hash Verified: {}", verified.file_hash)?;
    }
    let unpacked = tempfile::tempdir()?;
    extract(data, unpacked.path())
        .map_err(|e| other(format!("extracting files from archive: {e}")))?;
    let root = if detect_root {
        detect_plugin_root(unpacked.path())?
    } else {
        let dir = unpacked.path().join(&name);
        if !dir.join(plugins::FILE).exists() {
            return Err(other(format!(
                "plugin.yaml not found in expected directory {}: the archive {file} holds no {name}/plugin.yaml",
                dir.display()
            )));
        }
        dir
    };
    let plugin = check_plugin(&root)?;
    std::fs::create_dir_all(base)?;
    // The archive (and its .prov) kept as Helm keeps them: `plugin list`
    // reads its PROVENANCE from them.
    let kept = archive_path(&target, &plugin.meta.name, &plugin.meta.version);
    std::fs::write(&kept, data)?;
    if let Some(prov) = &prov {
        std::fs::write(format!("{}.prov", kept.display()), prov)?;
    }
    copy_dir(&root, &target)?;
    Ok(placed(plugin, target))
}

/// Helm's `detectPluginRoot`: plugin.yaml at the top, or in one directory
/// below it.
fn detect_plugin_root(dir: &Path) -> Result<PathBuf, CliError> {
    if dir.join(plugins::FILE).exists() {
        return Ok(dir.to_path_buf());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    entries
        .into_iter()
        .find(|p| p.join(plugins::FILE).exists())
        .ok_or_else(|| {
            other("plugin.yaml not found in the archive or its immediate subdirectories")
        })
}

/// Helm's `TarGzExtractor`: directories and regular files only, every name
/// relative, without `..` or `:`.
fn extract(data: &[u8], dir: &Path) -> Result<(), String> {
    use std::io::Read;
    let gz = flate2::read::GzDecoder::new(data);
    let mut archive = tar::Archive::new(gz);
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).replace('\\', "/");
        if raw.contains(':') {
            return Err(format!("{raw}: path contains ':', which is illegal"));
        }
        if raw.split('/').any(|p| p == "..") {
            return Err(format!("{raw}: path contains '..', which is illegal"));
        }
        if raw.starts_with('/') {
            return Err(format!("{raw}: path is absolute, which is illegal"));
        }
        let path = dir.join(raw.trim_start_matches("./"));
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {
                std::fs::create_dir_all(&path).map_err(|e| e.to_string())?
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
                let mut bytes = Vec::new();
                (&mut entry)
                    .take(MAX_UNPACKED - total + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| e.to_string())?;
                total += bytes.len() as u64;
                if total > MAX_UNPACKED {
                    return Err(format!(
                        "the archive unpacks to more than {MAX_UNPACKED} bytes"
                    ));
                }
                std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| e.to_string())?;
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
            other => {
                return Err(format!("unknown type: {:b} in {raw}", other.as_byte()));
            }
        }
    }
    Ok(())
}

/// A copy of a directory tree (Helm's `fs.CopyDir`): files keep their
/// modes, symbolic links are copied as links.
fn copy_dir(src: &Path, dst: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

// ---- package, verify -----------------------------------------------------------

fn package(g: &Global, a: PackageArgs, io: &mut Io) -> Result<(), CliError> {
    let meta = std::fs::metadata(&a.path).map_err(|e| {
        other(format!(
            "stat {}: {}",
            a.path.display(),
            berth::values::go_errno(&e)
        ))
    })?;
    if !meta.is_dir() {
        return Err(other(
            "plugin package only supports directories, not tarballs",
        ));
    }
    let plugin =
        plugins::load_dir(&a.path).map_err(|e| other(format!("invalid plugin directory: {e}")))?;
    let signer = if a.sign {
        // Helm's --key (the signing key's name) is berth's global --key.
        let Some(key) = g.key_given.then_some(g.key.as_ref()).flatten() else {
            return Err(other("private key not found"));
        };
        let keyring = a
            .keyring
            .clone()
            .unwrap_or_else(provenance::default_keyring);
        let pass = a
            .passphrase_file
            .as_deref()
            .map(super::package::passphrase)
            .transpose()?;
        Some((key.to_string_lossy().into_owned(), keyring, pass))
    } else {
        writeln!(
            io.out,
            "WARNING: Skipping plugin signing. This is not recommended for plugins intended for distribution."
        )?;
        None
    };
    std::fs::create_dir_all(&a.destination)?;
    let file = format!("{}-{}.tgz", plugin.meta.name, plugin.meta.version);
    let archive = a.destination.join(&file);
    let data = tarball(&a.path, &plugin.meta.name)?;
    if let Some((key, keyring, pass)) = signer {
        let metadata = format!(
            "apiVersion: {}\nname: {}\ntype: {}\nruntime: {}\nversion: {}\n",
            plugin.meta.api_version,
            plugin.meta.name,
            plugin.meta.kind,
            plugin.meta.runtime,
            plugin.meta.version
        );
        let prov = provenance::sign_plugin(&data, &file, &metadata, &key, &keyring, pass)?;
        std::fs::write(&archive, &data)?;
        let prov_path = format!("{}.prov", archive.display());
        std::fs::write(&prov_path, prov)?;
        writeln!(
            io.out,
            "Successfully signed. Signature written to: {prov_path}"
        )?;
    } else {
        std::fs::write(&archive, &data)?;
    }
    writeln!(
        io.out,
        "Successfully packaged plugin and saved it to: {}",
        archive.display()
    )?;
    Ok(())
}

/// Helm's `CreatePluginTarball`: the directory's tree under `NAME/`, in
/// `filepath.Walk`'s (lexical) order.
fn tarball(dir: &Path, name: &str) -> Result<Vec<u8>, CliError> {
    fn walk(
        b: &mut tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
        path: &Path,
        name: &str,
    ) -> Result<(), CliError> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path)?;
        let mut h = tar::Header::new_ustar();
        h.set_mode(meta.mode() & 0o7777);
        h.set_mtime(meta.mtime().max(0) as u64);
        h.set_uid(u64::from(meta.uid()));
        h.set_gid(u64::from(meta.gid()));
        if meta.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
            b.append_data(&mut h, format!("{name}/"), std::io::empty())?;
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            entries.sort();
            for e in entries {
                let child = e
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                walk(b, &e, &format!("{name}/{child}"))?;
            }
        } else if meta.file_type().is_symlink() {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, name, std::fs::read_link(path)?)?;
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(meta.len());
            b.append_data(&mut h, name, std::fs::File::open(path)?)?;
        }
        Ok(())
    }
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    walk(&mut b, dir, name)?;
    Ok(b.into_inner()?.finish()?)
}

fn verify(a: VerifyArgs, io: &mut Io) -> Result<(), CliError> {
    let shown = a.path.display().to_string();
    let meta = std::fs::metadata(&a.path)
        .map_err(|e| other(format!("stat {shown}: {}", berth::values::go_errno(&e))))?;
    if meta.is_dir() {
        return Err(other(
            "directory verification not supported - only plugin tarballs can be verified",
        ));
    }
    if !(shown.ends_with(".gz") || shown.ends_with(".tgz")) {
        return Err(other(
            "plugin file must be a gzipped tarball (.tar.gz or .tgz)",
        ));
    }
    let prov_path = format!("{shown}.prov");
    let prov = std::fs::read_to_string(&prov_path).map_err(|e| {
        other(format!(
            "could not find provenance file {prov_path}: stat {prov_path}: {}",
            berth::values::go_errno(&e)
        ))
    })?;
    let data = std::fs::read(&a.path).map_err(|e| {
        other(format!(
            "failed to read plugin file: {}",
            berth::values::go_read_error(&shown, &e)
        ))
    })?;
    let keyring = a.keyring.unwrap_or_else(provenance::default_keyring);
    let file = a
        .path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let verified = provenance::verify_bytes(&data, &file, &prov, &keyring).map_err(other)?;
    for who in &verified.signed_by {
        writeln!(io.out, "Signed by: {who}")?;
    }
    writeln!(
        io.out,
        "Using Key With Fingerprint: {}",
        verified.fingerprint
    )?;
    writeln!(io.out, "Plugin Hash Verified: {}", verified.file_hash)?;
    Ok(())
}

// ---- Git ----------------------------------------------------------------------

/// Helm's `cache.Key`: where a Git source is cloned in the cache.
fn cache_key(source: &str) -> String {
    let (scheme, rest) = match source.split_once("://") {
        Some((s, r)) => (format!("{s}-"), r),
        None => match source.split_once('@') {
            // git@host:path, scp's syntax
            Some((user, r)) if r.contains(':') && !user.contains('/') => {
                let (host, path) = r.split_once(':').unwrap_or((r, ""));
                return format!("{user}-{host}-{}", path.replace('/', "-")).replace(':', "-");
            }
            _ => (String::new(), source),
        },
    };
    let (auth, rest) = match rest.split_once('@') {
        Some((u, r)) if !u.contains('/') => (format!("{}-", u.split(':').next().unwrap_or(u)), r),
        _ => (String::new(), rest),
    };
    format!("{scheme}{auth}{}", rest.replace('/', "-")).replace(':', "-")
}

fn git(dir: Option<&Path>, args: &[&str]) -> Result<String, CliError> {
    let mut c = std::process::Command::new("git");
    if let Some(d) = dir {
        c.current_dir(d);
    }
    let out = c
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| other(format!("git: {e} (a Git source needs git on the PATH)")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.trim().lines().last().unwrap_or_default().to_string();
        return Err(other(format!("git {}: {said}", args.join(" "))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Masterminds/vcs's Git update: fetch the tags, and pull unless a commit
/// or tag is checked out.
fn git_update(dir: &Path) -> Result<(), CliError> {
    git(Some(dir), &["fetch", "--tags", "origin"])?;
    if git(Some(dir), &["symbolic-ref", "-q", "HEAD"]).is_ok() {
        git(Some(dir), &["pull"])?;
    }
    Ok(())
}

fn install_git(url: &str, version: Option<&str>, base: &Path) -> Result<Plugin, CliError> {
    let name = url
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_string();
    let target = base.join(&name);
    exists_error(&target)?;
    let cache = crate::charts::helm_home("HELM_CACHE_HOME", "XDG_CACHE_HOME", ".cache")
        .join("plugins")
        .join(cache_key(url));
    if cache.exists() {
        git_update(&cache)?;
    } else {
        std::fs::create_dir_all(cache.parent().unwrap_or(Path::new(".")))?;
        let dest = cache.display().to_string();
        git(None, &["clone", "--quiet", url, &dest])?;
    }
    let version = version.filter(|v| !v.is_empty());
    if version.is_none() {
        // The remote's default branch, even when the cache was left at a
        // tag by an earlier install (Helm installs that tag again).
        if let Ok(head) = git(
            Some(&cache),
            &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
        ) {
            let remote = head.trim().trim_start_matches("refs/remotes/");
            let branch = remote.trim_start_matches("origin/");
            git(Some(&cache), &["checkout", "--quiet", "-B", branch, remote])?;
        }
    }
    if let Some(v) = version {
        let reference = if git(
            Some(&cache),
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{v}^{{commit}}"),
            ],
        )
        .is_ok()
        {
            v.to_string()
        } else {
            let constraint = berth_template::funcs::semver::Constraints::parse(v).map_err(other)?;
            let tags = git(Some(&cache), &["tag"])?;
            let mut versions: Vec<(berth_template::funcs::semver::Version, String)> = tags
                .lines()
                .filter_map(|t| {
                    Some((
                        berth_template::funcs::semver::Version::parse(t).ok()?,
                        t.to_string(),
                    ))
                })
                .collect();
            versions.sort_by(|a, b| b.0.compare(&a.0));
            versions
                .into_iter()
                .find(|(v, _)| constraint.check(v))
                .map(|(_, t)| t)
                .ok_or_else(|| {
                    other(format!(
                        "requested version {v:?} does not exist for plugin {url:?}"
                    ))
                })?
        };
        git(Some(&cache), &["checkout", "--quiet", &reference])?;
    }
    if !cache.join(plugins::FILE).exists() {
        return Err(other("plugin metadata (plugin.yaml) missing"));
    }
    let plugin = check_plugin(&cache)?;
    std::fs::create_dir_all(base)?;
    copy_dir(&cache, &target)?;
    Ok(placed(plugin, target))
}

// ---- uninstall, update --------------------------------------------------------

fn installed(io: &mut Io) -> Result<Vec<Plugin>, CliError> {
    let mut warn = warn_to(io);
    // Every plugins directory (Helm reads only the whole list as one).
    plugins::find(None, None, &mut warn).map_err(other)
}

fn each(
    names: &[String],
    io: &mut Io,
    what: &str,
    done: &str,
    mut act: impl FnMut(&Plugin, &mut Io) -> Result<(), CliError>,
) -> Result<(), CliError> {
    if names.is_empty() {
        return Err(CliError::Usage(format!(
            "please provide plugin name to {what}"
        )));
    }
    let found = installed(io)?;
    let mut errors = Vec::new();
    for name in names {
        match found.iter().find(|p| &p.meta.name == name) {
            Some(p) => match act(p, io) {
                Ok(()) => writeln!(io.out, "{done} plugin: {name}")?,
                Err(e) => errors.push(format!("failed to {what} plugin {name}, got error ({e})")),
            },
            None => errors.push(format!("plugin: {name} not found")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(other(errors.join("\n")))
    }
}

fn uninstall(a: NamesArgs, vars: &[(String, String)], io: &mut Io) -> Result<(), CliError> {
    each(&a.names, io, "uninstall", "Uninstalled", |p, _| {
        let meta = std::fs::symlink_metadata(&p.dir)?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            std::fs::remove_file(&p.dir)?;
        } else {
            std::fs::remove_dir_all(&p.dir)?;
        }
        if !p.meta.version.is_empty() {
            let kept = archive_path(&p.dir, &p.meta.name, &p.meta.version);
            let _ = std::fs::remove_file(&kept);
            let _ = std::fs::remove_file(format!("{}.prov", kept.display()));
        }
        plugins::run_hook(p, plugins::DELETE, vars)
    })
}

fn update(a: NamesArgs, vars: &[(String, String)], io: &mut Io) -> Result<(), CliError> {
    each(&a.names, io, "update", "Updated", |p, _| {
        let location = std::fs::canonicalize(&p.dir)?;
        if !location.join(".git").exists() {
            return Err(other("cannot get information about plugin source"));
        }
        if !git(Some(&location), &["status", "--porcelain"])?
            .trim()
            .is_empty()
        {
            return Err(other("plugin repo was modified"));
        }
        git_update(&location)?;
        if !location.join(plugins::FILE).exists() {
            return Err(other("plugin metadata (plugin.yaml) missing"));
        }
        let updated = plugins::load_dir(&p.dir).map_err(other)?;
        plugins::run_hook(&updated, plugins::UPDATE, vars)
    })
}

// ---- berth NAME ARGS… ---------------------------------------------------------

/// Helm's flags a plugin's command line may carry, taken by berth (and
/// passed on as variables) rather than given to the plugin
/// (`manuallyProcessArgs`).
const TAKEN: [&str; 15] = [
    "--kube-context",
    "--namespace",
    "-n",
    "--kubeconfig",
    "--kube-apiserver",
    "--kube-token",
    "--kube-as-user",
    "--kube-as-group",
    "--kube-ca-file",
    "--registry-config",
    "--repository-cache",
    "--repository-config",
    "--content-cache",
    "--kube-insecure-skip-tls-verify",
    "--kube-tls-server-name",
];

/// The variable each taken flag sets for the plugin.
fn taken_var(flag: &str) -> &'static str {
    match flag {
        "--kube-context" => "HELM_KUBECONTEXT",
        "--namespace" | "-n" => "HELM_NAMESPACE",
        "--kubeconfig" => "KUBECONFIG",
        "--kube-apiserver" => "HELM_KUBEAPISERVER",
        "--kube-token" => "HELM_KUBETOKEN",
        "--kube-as-user" => "HELM_KUBEASUSER",
        "--kube-as-group" => "HELM_KUBEASGROUPS",
        "--kube-ca-file" => "HELM_KUBECAFILE",
        "--registry-config" => "HELM_REGISTRY_CONFIG",
        "--repository-cache" => "HELM_REPOSITORY_CACHE",
        "--repository-config" => "HELM_REPOSITORY_CONFIG",
        "--content-cache" => "HELM_CONTENT_CACHE",
        "--kube-insecure-skip-tls-verify" => "HELM_KUBEINSECURE_SKIP_TLS_VERIFY",
        _ => "HELM_KUBETLS_SERVER_NAME",
    }
}

/// Split a plugin's arguments into Helm's flags (as variables) and the
/// plugin's own, as Helm's `manuallyProcessArgs` and `ParseFlags` do.
/// Variables a plugin runs with.
type Vars = Vec<(String, String)>;

fn split_args(args: &[String]) -> Result<(Vars, Vec<String>), CliError> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut rest = Vec::new();
    let set = |var: &str, value: String, vars: &mut Vec<(String, String)>| {
        // --kube-as-group adds a group each time it is given.
        let value = match vars.iter().find(|(k, _)| k == var) {
            Some((_, old)) if var == "HELM_KUBEASGROUPS" => format!("{old},{value}"),
            _ => value,
        };
        vars.retain(|(k, _)| k != var);
        vars.push((var.to_string(), value));
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--debug" {
            set("HELM_DEBUG", "true".into(), &mut vars);
        } else if let Some(flag) = TAKEN.iter().find(|f| *f == a) {
            let Some(value) = args.get(i + 1) else {
                return Err(CliError::Usage(format!("flag needs an argument: {flag}")));
            };
            set(taken_var(flag), value.clone(), &mut vars);
            i += 1;
        } else if let Some((flag, value)) = a.split_once('=').filter(|(f, _)| TAKEN.contains(f)) {
            set(taken_var(flag), value.to_string(), &mut vars);
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    Ok((vars, rest))
}

/// `berth NAME ARGS…` for a name that is no berth command: the CLI plugin
/// of that name, or clap's refusal.
pub fn run_external(g: &Global, args: Vec<OsString>, io: &mut Io) -> Result<(), CliError> {
    let name = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unknown = || CliError::Exit {
        code: 2,
        message: format!("unrecognized subcommand '{name}'"),
    };
    if std::env::var("HELM_NO_PLUGINS").is_ok_and(|v| v == "1") {
        return Err(unknown());
    }
    let plugin = {
        let mut warn = warn_to(io);
        match plugins::find(Some("cli/v1"), Some(&name), &mut warn) {
            Ok(found) => found.into_iter().next(),
            Err(e) => {
                warn(format!("failed to load plugins: {e}"));
                None
            }
        }
    };
    let Some(plugin) = plugin else {
        return Err(unknown());
    };
    let rest: Vec<String> = args[1..]
        .iter()
        .map(|a| {
            a.clone()
                .into_string()
                .map_err(|a| CliError::Usage(format!("argument {a:?} is not valid UTF-8")))
        })
        .collect::<Result<_, _>>()?;
    let (flag_vars, rest) = split_args(&rest)?;
    let mut vars = super::env::plugin_vars(g);
    for (k, v) in flag_vars {
        if k == "HELM_NAMESPACE" {
            vars.retain(|(n, _)| n != "BERTH_NAMESPACE");
            vars.push(("BERTH_NAMESPACE".into(), v.clone()));
        }
        vars.retain(|(n, _)| *n != k);
        vars.push((k, v));
    }
    let ignore_flags = matches!(
        plugin.meta.config,
        plugins::Config::Cli {
            ignore_flags: true,
            ..
        }
    );
    let extra = if ignore_flags { Vec::new() } else { rest };
    if io.stdio {
        io.out.flush()?;
        plugins::run_cli(&plugin, &extra, &vars, None)
    } else {
        plugins::run_cli(&plugin, &extra, &vars, Some(io))
    }
}

/// `berth --help`'s list of the CLI plugins, as Helm lists them among its
/// commands.
pub fn help_section() -> Option<String> {
    if std::env::var("HELM_NO_PLUGINS").is_ok_and(|v| v == "1") {
        return None;
    }
    let commands = <crate::Cli as clap::CommandFactory>::command();
    // A plugin named as a berth command never runs: berth's command answers.
    let found: Vec<Plugin> = plugins::find(Some("cli/v1"), None, &mut |_| {})
        .ok()?
        .into_iter()
        .filter(|p| commands.find_subcommand(&p.meta.name).is_none())
        .collect();
    if found.is_empty() {
        return None;
    }
    let width = found.iter().map(|p| p.meta.name.len()).max().unwrap_or(0);
    let mut out = String::from("Plugins:\n");
    for p in &found {
        out.push_str(&format!(
            "  {:width$}  {}\n",
            p.meta.name,
            crate::output::sanitize(&p.short_help())
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_lose_suffix_and_version_as_helms_regex() {
        assert_eq!(strip_plugin_name("diff-3.1.0.tgz"), "diff");
        assert_eq!(
            strip_plugin_name("helm-diff-linux-amd64-3.9.4.tar.gz"),
            "helm-diff-linux-amd64"
        );
        assert_eq!(strip_plugin_name("secrets.tgz"), "secrets");
        assert_eq!(strip_plugin_name("a-1b.tgz"), "a-1b");
        assert_eq!(strip_plugin_name("a-1.tgz"), "a-1");
        assert_eq!(strip_plugin_name("x.zip"), "");
    }

    #[test]
    fn helms_flags_are_taken_the_rest_is_the_plugins() {
        let args: Vec<String> = [
            "--namespace",
            "prod",
            "upgrade",
            "-n=x",
            "--kube-context=c",
            "--debug",
            "--flag",
            "v",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (vars, rest) = split_args(&args).unwrap();
        assert_eq!(rest, ["upgrade", "--flag", "v"]);
        assert_eq!(
            vars,
            [
                ("HELM_NAMESPACE".to_string(), "x".to_string()),
                ("HELM_KUBECONTEXT".into(), "c".into()),
                ("HELM_DEBUG".into(), "true".into())
            ]
        );
        assert!(split_args(&["-n".to_string()]).is_err());
    }

    #[test]
    fn git_sources_are_cached_under_helms_keys() {
        assert_eq!(
            cache_key("https://github.com/databus23/helm-diff"),
            "https-github.com-databus23-helm-diff"
        );
        assert_eq!(
            cache_key("git@github.com:user/repo"),
            "git-github.com-user-repo"
        );
        assert_eq!(cache_key("ssh://me@h:22/x"), "ssh-me-h-22-x");
    }
}
