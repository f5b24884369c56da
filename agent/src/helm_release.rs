//! Helm's storage format for releases (Helm v3/v4 `helm.sh/release.v1`
//! Secrets), read and written so that a team can move a release from Helm
//! to berth (`berth import`) and hand it back (`berth export-helm`).
//!
//! What it owns: the Secret's name, type and labels, the encoding of its
//! `release` key, and the parts of the release JSON berth reads. It does
//! not touch the journal or the cluster.
//!
//! The encoding (helm pkg/storage/driver/util.go `encodeRelease`): the
//! release as JSON, gzipped at best compression, then base64 (standard
//! alphabet). A Secret stores those base64 bytes as its data, which the
//! Kubernetes API base64-encodes once more on the wire. Releases stored
//! before Helm compressed them are plain base64 JSON; the decoder accepts
//! both, as Helm's `decodeRelease` does.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::Value;

/// The Secret type Helm 3 and 4 give release Secrets.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// The data key holding the encoded release.
pub const DATA_KEY: &str = "release";

/// `sh.helm.release.v1.NAME.vN` (helm pkg/storage/storage.go makeKey).
pub fn secret_name(release: &str, version: u64) -> String {
    format!("sh.helm.release.v1.{release}.v{version}")
}

/// The label selector of one release's Secrets.
pub fn selector(release: &str) -> String {
    format!("owner=helm,name={release}")
}

/// The labels Helm keeps for itself on a release Secret (driver/util.go
/// systemLabels); the others are the release's own (`--labels`).
pub const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// A release Secret's labels without Helm's system ones: the release's.
pub fn release_labels(
    labels: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    labels
        .into_iter()
        .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
        .collect()
}

/// Helm's system labels of a release Secret (secrets.go newSecretsObject;
/// `createdAt` is what Secrets.Create adds).
pub fn labels(
    release: &str,
    status: &str,
    version: u64,
    created_unix: i64,
) -> std::collections::BTreeMap<String, String> {
    [
        ("name", release.to_string()),
        ("owner", "helm".to_string()),
        ("status", status.to_string()),
        ("version", version.to_string()),
        ("createdAt", created_unix.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// Decode a Secret's `release` data (the bytes after Kubernetes' own
/// base64 layer) into the release JSON, of at most `max_json` bytes once
/// unpacked (a Secret's gzip may unpack a thousandfold). The error says
/// which layer failed.
pub fn decode(data: &[u8], max_json: u64) -> Result<Value, String> {
    let text: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let bytes = B64
        .decode(&text)
        .map_err(|e| format!("its release data is not base64: {e}"))?;
    let json = if bytes.len() > 3 && bytes[..3] == GZIP_MAGIC {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .take(max_json.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| format!("its release data is not valid gzip: {e}"))?;
        out
    } else {
        bytes
    };
    if json.len() as u64 > max_json {
        return Err(format!(
            "its release unpacks to more than {max_json} bytes, berthd's limit for one imported revision"
        ));
    }
    serde_json::from_slice(&json).map_err(|e| format!("its release is not valid JSON: {e}"))
}

/// Encode a release JSON exactly as Helm does: gzip (best compression),
/// then base64. The result is the Secret's data, before Kubernetes' layer.
pub fn encode(release: &Value) -> Vec<u8> {
    let json = go_json(release);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&json).expect("writing to a Vec cannot fail");
    let zipped = gz.finish().expect("writing to a Vec cannot fail");
    B64.encode(zipped).into_bytes()
}

/// JSON as Go's `json.Marshal` writes it: `<`, `>`, `&`, U+2028 and U+2029
/// escaped inside strings (they can only occur inside strings, so
/// replacing them in the text is safe).
fn go_json(v: &Value) -> Vec<u8> {
    let text = serde_json::to_string(v).expect("a JSON value always serializes");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

/// The parts of Helm's release JSON (pkg/release/v1/release.go) berth
/// imports. Absent fields are empty, as Go's `omitempty` leaves them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Release {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub namespace: String,
    #[serde(deserialize_with = "nullable")]
    pub version: u64,
    pub info: Info,
    pub chart: Option<Chart>,
    /// The user-supplied values (`helm get values`).
    pub config: Option<serde_json::Map<String, Value>>,
    #[serde(deserialize_with = "nullable")]
    pub manifest: String,
    #[serde(deserialize_with = "nullable")]
    pub hooks: Vec<Hook>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Info {
    /// RFC 3339 times; Go writes `""` or omits them when zero.
    pub first_deployed: Option<String>,
    pub last_deployed: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub description: String,
    #[serde(deserialize_with = "nullable")]
    pub status: String,
    #[serde(deserialize_with = "nullable")]
    pub rollback_revision: u64,
    #[serde(deserialize_with = "nullable")]
    pub notes: String,
}

/// pkg/chart/v2/chart.go: file contents are Go `[]byte`, so base64 in JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Chart {
    #[serde(deserialize_with = "nullable")]
    pub metadata: serde_json::Map<String, Value>,
    #[serde(deserialize_with = "nullable")]
    pub templates: Vec<File>,
    pub values: Option<serde_json::Map<String, Value>>,
    pub schema: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub files: Vec<File>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct File {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    /// base64; `null` for an empty file.
    pub data: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Hook {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
    #[serde(deserialize_with = "nullable")]
    pub kind: String,
    #[serde(deserialize_with = "nullable")]
    pub path: String,
    #[serde(deserialize_with = "nullable")]
    pub manifest: String,
    #[serde(deserialize_with = "nullable")]
    pub events: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub weight: i32,
    #[serde(deserialize_with = "nullable")]
    pub delete_policies: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub output_log_policies: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub last_run: LastRun,
}

/// A hook's last execution (Helm's HookExecution).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LastRun {
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub phase: String,
}

/// Go writes nil slices and maps as `null`; read them as empty.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Release {
    /// Parse a decoded release JSON; `what` names it in errors.
    pub fn from_json(v: Value) -> Result<Release, String> {
        serde_json::from_value(v)
            .map_err(|e| format!("its release JSON has an unexpected shape: {e}"))
    }
}

impl File {
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        match &self.data {
            None => Ok(Vec::new()),
            Some(d) => B64
                .decode(d)
                .map_err(|e| format!("chart file {}: not base64: {e}", self.name)),
        }
    }
}

/// A Go `[]byte` as JSON: base64, or `null` when empty (a nil slice).
pub fn bytes_json(data: &[u8]) -> Value {
    if data.is_empty() {
        Value::Null
    } else {
        Value::String(B64.encode(data))
    }
}

/// Decode a base64 JSON `[]byte` field.
pub fn decode_bytes(s: &str) -> Result<Vec<u8>, String> {
    B64.decode(s).map_err(|e| e.to_string())
}

/// Unix milliseconds of a Go RFC 3339 time (`None` for zero or absent).
pub fn time_ms(t: Option<&str>) -> Option<i64> {
    let t = t.filter(|t| !t.is_empty())?;
    let parsed = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    // Go's zero time, 0001-01-01T00:00:00Z, means "never".
    (parsed.timestamp() > -62135596800).then(|| parsed.timestamp_millis())
}

/// Unix milliseconds as Go's `time.Time` JSON (RFC 3339 with nanoseconds).
pub fn time_json(ms: i64) -> Value {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_is_the_identity() {
        let v = serde_json::json!({"name": "web", "version": 3, "info": {"status": "deployed"}});
        let data = encode(&v);
        assert!(data.iter().all(|b| b.is_ascii()), "base64 text");
        assert_eq!(decode(&data, u64::MAX).unwrap(), v);
        // Gzip at the start, as Helm's readers require for compression.
        assert_eq!(&B64.decode(&data).unwrap()[..3], &GZIP_MAGIC);
    }

    #[test]
    fn json_is_escaped_as_go_escapes_it() {
        let v = serde_json::json!({"manifest": "a<b>&c"});
        assert_eq!(
            String::from_utf8(go_json(&v)).unwrap(),
            r#"{"manifest":"a\u003cb\u003e\u0026c"}"#
        );
        assert_eq!(decode(&encode(&v), u64::MAX).unwrap(), v);
    }

    #[test]
    fn releases_stored_before_compression_still_decode() {
        let plain = B64.encode(br#"{"name":"old","version":1}"#);
        assert_eq!(decode(plain.as_bytes(), u64::MAX).unwrap()["name"], "old");
    }

    #[test]
    fn a_release_that_unpacks_past_the_limit_is_refused_without_unpacking_it_all() {
        // A manifest of 10 MB of one letter gzips to a few KB.
        let v = serde_json::json!({"name": "bomb", "manifest": "x".repeat(10 << 20)});
        let data = encode(&v);
        assert!(data.len() < 100_000);
        let e = decode(&data, 1 << 20).unwrap_err();
        assert_eq!(
            e,
            "its release unpacks to more than 1048576 bytes, berthd's limit for one imported revision"
        );
        assert_eq!(decode(&data, 11 << 20).unwrap()["name"], "bomb");
    }

    #[test]
    fn each_layer_names_its_failure() {
        assert!(decode(b"%%%", u64::MAX).unwrap_err().contains("not base64"));
        let bad_gzip = B64.encode([0x1f, 0x8b, 0x08, 0, 1, 2]);
        assert!(
            decode(bad_gzip.as_bytes(), u64::MAX)
                .unwrap_err()
                .contains("not valid gzip")
        );
        let not_json = B64.encode(b"hello");
        assert!(
            decode(not_json.as_bytes(), u64::MAX)
                .unwrap_err()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn go_times_round_trip_and_zero_means_never() {
        let ms = time_ms(Some("2026-01-02T14:30:00.123456789+01:00")).unwrap();
        assert_eq!(ms, 1767360600123);
        assert_eq!(time_json(ms), "2026-01-02T13:30:00.123Z");
        assert_eq!(time_ms(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(time_ms(Some("")), None);
    }
}
