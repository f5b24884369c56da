//! Reading what a chart's `values.schema.json` files refer to by URL, on
//! the user's machine, as Helm's schema loaders do while it validates the
//! values (pkg/chart/common/util/jsonschema.go): `http` and `https` with a
//! GET (15 s, only 200 answers), `file` from this machine's disk, `urn` as
//! a schema that allows anything. The documents go with the operation to
//! berthd, which reads none itself ([`berth::schema_refs`]).

use std::sync::Arc;
use std::time::Duration;

use berth::schema_refs::{MAX_BYTES, MAX_DOCUMENTS, attach, skeleton};
use berth_template::helm::{self, RemoteSchemas};

use crate::CliError;

/// Helm's HTTP loader's client timeout.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Every document the chart's schemas (its subcharts' too) refer to by
/// URL, each read once, in the order compiling them meets them. `warn`
/// gets what Helm logs meanwhile (a `urn:` it cannot resolve).
pub async fn read(
    chart: &helm::Chart,
    warn: &mut (dyn FnMut(helm::Warning) + Send),
) -> Result<RemoteSchemas, CliError> {
    let mut remote = RemoteSchemas::new();
    read_into(chart, &mut remote, warn).await?;
    Ok(remote)
}

/// [`read`] adding to documents read already (for other charts).
pub async fn read_into(
    chart: &helm::Chart,
    remote: &mut RemoteSchemas,
    warn: &mut (dyn FnMut(helm::Warning) + Send),
) -> Result<(), CliError> {
    let mut tree = skeleton(chart);
    attach(&mut tree, &Arc::new(remote.clone()));
    let mut bytes: u64 = remote
        .values()
        .map(|r| r.as_ref().map_or(0, |b| b.len() as u64))
        .sum();
    let mut tls = None;
    while let Some(url) = helm::unfetched_schema_reference(&tree) {
        if remote.len() >= MAX_DOCUMENTS {
            return Err(CliError::Other(format!(
                "values.schema.json: the schemas refer to more than {MAX_DOCUMENTS} documents by URL, berth's limit (the next: {url})"
            )));
        }
        let read = read_one(&url, &mut tls, warn).await?;
        if let Ok(content) = &read {
            bytes += content.len() as u64;
            if bytes > MAX_BYTES {
                return Err(CliError::Other(format!(
                    "values.schema.json: the documents its schemas refer to by URL come to more than {MAX_BYTES} bytes, berth's limit (at {url})"
                )));
            }
        }
        remote.insert(url, read);
        attach(&mut tree, &Arc::new(remote.clone()));
    }
    Ok(())
}

/// One document, or the loader's error in Helm's words.
async fn read_one(
    url: &str,
    tls: &mut Option<rustls::ClientConfig>,
    warn: &mut (dyn FnMut(helm::Warning) + Send),
) -> Result<Result<Vec<u8>, String>, CliError> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    Ok(match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => {
            let tls = match tls {
                Some(t) => t,
                None => tls.insert(crate::charts::system_tls()?),
            };
            let get = crate::charts::fetch(url, None, &[], tls, MAX_BYTES);
            match tokio::time::timeout(HTTP_TIMEOUT, get).await {
                Err(_) => Err(format!(
                    "HTTP request failed for {url}: Get {}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                    berth_template::gofmt::quote(url)
                )),
                Ok(Err(e)) => Err(format!(
                    "HTTP request failed for {url}: Get {}: {}",
                    berth_template::gofmt::quote(url),
                    go_dial_error(url, e.strip_prefix(&format!("{url}: ")).unwrap_or(&e))
                )),
                Ok(Ok(answer)) if answer.status != http::StatusCode::OK => Err(format!(
                    "HTTP request to {url} returned status {} ({})",
                    answer.status.as_u16(),
                    answer.status.canonical_reason().unwrap_or("")
                )),
                Ok(Ok(answer)) => Ok(answer.body),
            }
        }
        "file" => {
            // Go's url.Parse(u).Path: what follows the authority.
            let rest = &url[scheme.len() + 1..];
            let path = match rest.strip_prefix("//") {
                Some(r) => r.find('/').map(|i| &r[i..]).unwrap_or(""),
                None => rest,
            };
            let path = path.split(['?', '#']).next().unwrap_or("");
            read_file(path)
        }
        "urn" => {
            warn(helm::Warning::slog(
                "unresolved URN reference ignored; using permissive schema",
                vec![("urn", url.to_string())],
            ));
            Ok(b"true".to_vec())
        }
        _ => Err(format!(
            "no URLLoader registered for {}",
            berth_template::gofmt::quote(url)
        )),
    })
}

/// A local document, at most [`MAX_BYTES`] of it read (a reference to
/// /dev/zero ends there), its errors as Go's os.Open and Read word them.
fn read_file(path: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let go = |op: &str, e: std::io::Error| format!("{op} {path}: {}", berth::values::go_errno(&e));
    let file = std::fs::File::open(path).map_err(|e| go("open", e))?;
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| go("read", e))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("{path}: more than {MAX_BYTES} bytes"));
    }
    Ok(bytes)
}

/// A failed connection in the words of Go's dialer, for the two failures
/// met most (a name that does not resolve: offline; a port nobody listens
/// on); anything else as hyper words it.
fn go_dial_error(url: &str, e: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            (h, p.to_string())
        }
        _ => (authority, default_port(scheme)),
    };
    if e.contains("dns error") {
        // Go names the resolver it asked: the first nameserver of
        // /etc/resolv.conf.
        let server = std::fs::read_to_string("/etc/resolv.conf")
            .ok()
            .and_then(|conf| {
                conf.lines().find_map(|l| {
                    let mut words = l.split_whitespace();
                    (words.next() == Some("nameserver"))
                        .then(|| words.next().map(str::to_string))?
                })
            })
            .unwrap_or_else(|| "127.0.0.1".into());
        let server = if server.contains(':') {
            format!("[{server}]:53")
        } else {
            format!("{server}:53")
        };
        return format!("dial tcp: lookup {host} on {server}: no such host");
    }
    if e.contains("Connection refused") {
        return format!("dial tcp {host}:{port}: connect: connection refused");
    }
    e.to_string()
}

fn default_port(scheme: &str) -> String {
    if scheme.eq_ignore_ascii_case("https") {
        "443".into()
    } else {
        "80".into()
    }
}
