//! Chart provenance as Helm writes and checks it (pkg/provenance): a
//! `.prov` file beside the chart archive, an OpenPGP clear-signed message
//! (SHA-512) of the chart's metadata, `...`, and the archive's SHA-256
//! (`files: {NAME.tgz: sha256:HEX}`); keys come from a binary OpenPGP
//! keyring such as `gpg --export` (or `--export-secret-keys`) writes, Helm's
//! `~/.gnupg/pubring.gpg` by default. berth signs what Helm verifies and
//! verifies what Helm signs.

use std::path::{Path, PathBuf};

use pgp::composed::{CleartextSignedMessage, PublicOrSecret, SignedPublicKey, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails, KeyVersion, Password, Timestamp};
use serde_json::Value;

use crate::CliError;

/// Helm's default keyring: GnuPG's legacy public keyring.
pub fn default_keyring() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".gnupg/pubring.gpg")
}

/// A key of a keyring, with or without its secret.
enum Key {
    Public(Box<SignedPublicKey>),
    Secret(Box<SignedSecretKey>),
}

impl Key {
    fn public(&self) -> SignedPublicKey {
        match self {
            Key::Public(k) => (**k).clone(),
            Key::Secret(k) => SignedPublicKey::from((**k).clone()),
        }
    }

    /// The key's user IDs, as Go's openpgp names its identities.
    fn identities(&self) -> Vec<String> {
        self.public()
            .details
            .users
            .iter()
            .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
            .collect()
    }
}

/// Go's `openpgp.ReadKeyRing` of `path`, in Helm's words when it fails.
fn keyring(path: &Path) -> Result<Vec<Key>, String> {
    let data = std::fs::read(path)
        .map_err(|e| berth::values::go_read_error(&path.display().to_string(), &e))?;
    let keys = PublicOrSecret::from_bytes_many(&data[..])
        .map_err(|e| format!("openpgp: invalid data: {e}"))?
        .map(|k| {
            k.map(|k| match k {
                PublicOrSecret::Public(p) => Key::Public(Box::new(p)),
                PublicOrSecret::Secret(s) => Key::Secret(Box::new(s)),
            })
            .map_err(|e| format!("openpgp: invalid data: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err("openpgp: invalid argument: no armored data found".into());
    }
    Ok(keys)
}

/// Helm's `messageBlock`: the chart's metadata as sigs.k8s.io/yaml writes
/// `chart.Metadata`, the YAML document end `...`, then the archive's sum.
fn message_block(archive: &[u8], file_name: &str, metadata: &Value) -> String {
    format!(
        "{}\n...\n{}",
        berth_template::yaml::marshal(&super::save::go_metadata(metadata)),
        sums_block(archive, file_name)
    )
}

/// The signed message's second part: `files: {NAME: sha256:HEX}`.
fn sums_block(archive: &[u8], file_name: &str) -> String {
    let sums = serde_json::json!({
        "files": { file_name: format!("sha256:{}", berth::chart::sha256_hex(archive)) }
    });
    berth_template::yaml::marshal(&sums)
}

/// Helm's `NewFromKeyring(keyring, id)`: the key whose identity is `id`,
/// else the one identity containing it.
fn signing_key(keys: Vec<Key>, id: &str) -> Result<SignedSecretKey, CliError> {
    let mut exact = None;
    let mut candidates = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let names = k.identities();
        if names.iter().any(|n| n == id) {
            exact = Some(i);
            break;
        }
        if names.iter().any(|n| n.contains(id)) {
            candidates.push(i);
        }
    }
    let chosen = match (exact, candidates.as_slice()) {
        (Some(i), _) => i,
        (None, [i]) => *i,
        (None, []) => return Err(CliError::Other("private key not found".into())),
        (None, _) => {
            return Err(CliError::Other(format!(
                "more than one key contain the id {id:?}"
            )));
        }
    };
    match keys.into_iter().nth(chosen) {
        Some(Key::Secret(k)) => Ok(*k),
        _ => Err(CliError::Other(
            "provided key is not a private key. Try providing a keyring with secret keys".into(),
        )),
    }
}

/// Helm's `package --sign`: the `.prov` text for `archive`, signed with
/// the secret key `id` of `keyring` (unlocked with `passphrase` if it is
/// protected).
pub fn sign(
    archive: &Path,
    id: &str,
    keyring_path: &Path,
    passphrase: Option<String>,
) -> Result<String, CliError> {
    let data = std::fs::read(archive)?;
    let files = berth::chart::load_path(archive, &berth::chart::Limits::default())?;
    let loaded = berth::chart::build(&files, &berth::chart::Limits::default())?;
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = message_block(&data, &name, &loaded.chart.metadata);
    clear_sign(&text, id, keyring_path, passphrase)
}

/// Helm's `SignPlugin`: the `.prov` text of a plugin archive named `name`,
/// its metadata (`metadata`, YAML) then its sum, signed as [`sign`] signs.
pub fn sign_plugin(
    data: &[u8],
    name: &str,
    metadata: &str,
    id: &str,
    keyring_path: &Path,
    passphrase: Option<String>,
) -> Result<String, CliError> {
    let text = format!("{metadata}\n...\n{}", sums_block(data, name));
    clear_sign(&text, id, keyring_path, passphrase)
}

/// `text` clear-signed with the secret key `id` of `keyring` (Helm's
/// `Signatory.ClearSign`).
fn clear_sign(
    text: &str,
    id: &str,
    keyring_path: &Path,
    passphrase: Option<String>,
) -> Result<String, CliError> {
    let keys = keyring(keyring_path).map_err(CliError::Other)?;
    let key = signing_key(keys, id)?;
    let password = match passphrase {
        Some(p) => Password::from(p.as_str()),
        None => Password::empty(),
    };
    let mut rng = rand08::thread_rng();
    let mut config = SignatureConfig::from_key(&mut rng, &key.primary_key, SignatureType::Text)
        .map_err(|e| CliError::Other(format!("failed to sign: {e}")))?;
    // Helm's packet.Config: SHA-512.
    config.hash_alg = HashAlgorithm::Sha512;
    config.hashed_subpackets = vec![
        Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::now()))
            .map_err(|e| CliError::Other(e.to_string()))?,
        Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint()))
            .map_err(|e| CliError::Other(e.to_string()))?,
    ];
    // The key ID subpacket is for keys up to version 4 only (RFC 9580).
    if key.version() <= KeyVersion::V4 {
        config.unhashed_subpackets = vec![
            Subpacket::regular(SubpacketData::IssuerKeyId(key.legacy_key_id()))
                .map_err(|e| CliError::Other(e.to_string()))?,
        ];
    }
    let signed =
        CleartextSignedMessage::new(text, config, &key.primary_key, &password).map_err(|e| {
            CliError::Other(format!("failed to either sign or armor message block: {e}"))
        })?;
    signed
        .to_armored_string(Default::default())
        .map_err(|e| CliError::Other(format!("failed to either sign or armor message block: {e}")))
}

/// What a verified chart was signed by (Helm's `Verification`).
pub struct Verified {
    pub signed_by: Vec<String>,
    /// The signing key's fingerprint, upper-case hex.
    pub fingerprint: String,
    /// `sha256:HEX` of the archive.
    pub file_hash: String,
}

impl Verified {
    /// `helm verify`'s report.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for name in &self.signed_by {
            out.push_str(&format!("Signed by: {name}\n"));
        }
        out.push_str(&format!(
            "Using Key With Fingerprint: {}\nChart Hash Verified: {}\n",
            self.fingerprint, self.file_hash
        ));
        out
    }
}

/// Helm's `VerifyChart(path, path + ".prov", keyring)`.
pub fn verify(archive: &Path, prov: &Path, keyring_path: &Path) -> Result<Verified, CliError> {
    let err = |s: String| CliError::Other(s);
    match std::fs::metadata(archive) {
        Err(e) => return Err(err(format!("stat {}: {e}", archive.display()))),
        Ok(m) if m.is_dir() => return Err(err("unpacked charts cannot be verified".into())),
        Ok(_) => {}
    }
    let data = std::fs::read(archive)?;
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Err(err("chart must be a tgz file".into()));
    }
    let prov_text = std::fs::read_to_string(prov).map_err(|e| {
        err(format!(
            "could not load provenance file {}: stat {}: {}",
            prov.display(),
            prov.display(),
            berth::values::go_errno(&e)
        ))
    })?;
    let keys = keyring(keyring_path).map_err(|e| err(format!("failed to load keyring: {e}")))?;
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    verify_data(&data, &name, &prov_text, &keys).map_err(err)
}

/// The `files:` sums of a provenance's signed message, its signature not
/// checked (Helm's `plugin list` PROVENANCE column); None when it is not a
/// clear-signed message with them.
pub fn signed_sums(prov: &str) -> Option<Vec<(String, String)>> {
    let (message, _) = CleartextSignedMessage::from_string(prov).ok()?;
    let text = message.signed_text().replace("\r\n", "\n");
    let sums = berth_template::yaml::parse_document(text.split("\n...\n").nth(1)?).ok()?;
    let files = sums.get("files")?.as_object()?;
    Some(
        files
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
    )
}

/// Helm's `Signatory.Verify(archive, prov, name)` with the keys of
/// `keyring_path` (plugin tarballs: `plugin install`, `plugin verify`).
pub fn verify_bytes(
    archive: &[u8],
    name: &str,
    prov: &str,
    keyring_path: &Path,
) -> Result<Verified, String> {
    let keys = keyring(keyring_path)?;
    verify_data(archive, name, prov, &keys)
}

fn verify_data(archive: &[u8], name: &str, prov: &str, keys: &[Key]) -> Result<Verified, String> {
    let (message, _) = CleartextSignedMessage::from_string(prov)
        .map_err(|_| "signature block not found".to_string())?;
    // Any key of the keyring, its primary key or a subkey, that made one of
    // the signatures (Go's CheckDetachedSignature).
    let signer = keys.iter().find_map(|k| {
        let public = k.public();
        let primary = message.verify(&public.primary_key).is_ok();
        let sub = public
            .public_subkeys
            .iter()
            .any(|s| message.verify(&s.key).is_ok());
        (primary || sub).then_some((k, public))
    });
    let Some((key, public)) = signer else {
        return Err("openpgp: signature made by unknown entity".into());
    };
    let text = message.signed_text().replace("\r\n", "\n");
    let parts: Vec<&str> = text.split("\n...\n").collect();
    if parts.len() < 2 {
        return Err("message block must have at least two parts".into());
    }
    let sums = berth_template::yaml::parse_document(parts[1]).map_err(|e| e.to_string())?;
    let sum = format!("sha256:{}", berth::chart::sha256_hex(archive));
    match sums
        .pointer("/files")
        .and_then(|f| f.get(name))
        .and_then(Value::as_str)
    {
        None => Err(format!(
            "provenance does not contain a SHA for a file named {name:?}"
        )),
        Some(sha) if sha != sum => Err(format!(
            "sha256 sum does not match for {name}: {sha:?} != {sum:?}"
        )),
        Some(_) => {
            let mut signed_by = key.identities();
            signed_by.sort();
            Ok(Verified {
                signed_by,
                fingerprint: format!("{:X}", public.fingerprint()),
                file_hash: sum,
            })
        }
    }
}
