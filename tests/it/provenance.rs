//! Chart provenance as Helm keeps it: `berth package --sign` writes the
//! `.prov` real Helm verifies, `berth verify` accepts what real Helm
//! signs and refuses a tampered archive or an unknown signer, and
//! `--verify` checks a local or downloaded chart before it is used (the
//! repository's `.prov` fetched beside it, as Helm's downloader does).

use std::collections::HashMap;
use std::path::Path;

use pgp::composed::{KeyType, SecretKeyParamsBuilder, SignedPublicKey};
use pgp::ser::Serialize;

use crate::common::{Env, path, real_helm, write_file};
use crate::repos::{PushRegistry, Repo, berth_process};

/// A signing key made for the test: its secret and public keyrings, as
/// `gpg --export-secret-keys` and `gpg --export` write them.
pub(crate) fn keyrings(dir: &Path, uid: &str) -> (String, String) {
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .primary_user_id(uid.into());
    let secret = params
        .build()
        .unwrap()
        .generate(rand08::thread_rng())
        .unwrap();
    let public = SignedPublicKey::from(secret.clone());
    let (sec, publ) = (
        dir.join(format!("{uid}.sec")),
        dir.join(format!("{uid}.pub")),
    );
    std::fs::write(&sec, secret.to_bytes().unwrap()).unwrap();
    std::fs::write(&publ, public.to_bytes().unwrap()).unwrap();
    (path(&sec), path(&publ))
}

fn chart(dir: &Path) -> String {
    let c = dir.join("web");
    write_file(
        &c.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.2.0\ndescription: a web chart\nmaintainers:\n- name: ops\n",
    );
    write_file(
        &c.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-web\n",
    );
    path(&c)
}

/// `berth package --sign` of the test chart into `out` with `keyring`'s
/// "Chart Signer": success, stdout, stderr.
async fn sign_package(dir: &Path, out: &str, keyring: &str) -> (bool, String, String) {
    berth_process(
        &[
            "package",
            &chart(dir),
            "-d",
            out,
            "--sign",
            "--key",
            "Chart Signer",
            "--keyring",
            keyring,
        ],
        &[],
    )
    .await
}

/// A chart repository serving `archive` as web 1.2.0, with its `.prov`
/// beside it when `signed`.
async fn web_repository(archive: &str, signed: bool) -> Repo {
    let mut files = HashMap::from([
        (
            "/charts/index.yaml".to_string(),
            b"apiVersion: v1\nentries:\n  web:\n    - name: web\n      version: 1.2.0\n      urls: [web-1.2.0.tgz]\n".to_vec(),
        ),
        ("/charts/web-1.2.0.tgz".to_string(), std::fs::read(archive).unwrap()),
    ]);
    if signed {
        files.insert(
            "/charts/web-1.2.0.tgz.prov".to_string(),
            std::fs::read(format!("{archive}.prov")).unwrap(),
        );
    }
    Repo::start(files, None).await
}

/// `dependency update --verify` of the chart `parent`, written to depend
/// on web `version` from `repository`; `extra` flags after the keyring.
async fn update_verified(
    parent: &Path,
    version: &str,
    repository: &str,
    keyring: &str,
    extra: &[&str],
) -> (bool, String, String) {
    write_file(
        &parent.join("Chart.yaml"),
        &format!(
            "apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n- name: web\n  version: {version}\n  repository: {repository}\n"
        ),
    );
    let chart = path(parent);
    let mut args = vec![
        "dependency",
        "update",
        &chart,
        "--verify",
        "--keyring",
        keyring,
    ];
    args.extend(extra);
    berth_process(&args, &[]).await
}

#[tokio::test]
async fn berth_and_real_helm_sign_and_verify_each_others_charts() {
    let dir = tempfile::tempdir().unwrap();
    let (sec, publ) = keyrings(dir.path(), "Chart Signer <sign@example.com>");
    let (_, other_pub) = keyrings(dir.path(), "Somebody Else <else@example.com>");
    let out = path(&dir.path().join("out"));
    let (ok, _, err) = sign_package(dir.path(), &out, &sec).await;
    assert!(ok, "{err}");
    let archive = format!("{out}/web-1.2.0.tgz");

    // Real Helm verifies what berth signed.
    let script = "import json,sys\nfrom helm_python import chart\nprint(json.dumps(chart.verify(sys.argv[1], sys.argv[2])))";
    let helm: serde_json::Value =
        serde_json::from_slice(&real_helm(script, &[&archive, &publ]).await).unwrap();
    assert_eq!(
        helm["signed_by"],
        serde_json::json!(["Chart Signer <sign@example.com>"])
    );
    let (ok, report, err) = berth_process(&["verify", &archive, "--keyring", &publ], &[]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "Signed by: Chart Signer <sign@example.com>");
    assert!(
        lines[1].starts_with("Using Key With Fingerprint: "),
        "{report}"
    );
    assert_eq!(
        lines[2],
        format!(
            "Chart Hash Verified: {}",
            helm["file_hash"].as_str().unwrap()
        )
    );

    // berth verifies what real Helm signed, and both sign the same text.
    let copy = dir.path().join("helm/web-1.2.0.tgz");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(&archive, &copy).unwrap();
    let script = "import sys\nfrom helm_python import chart\nchart.sign(sys.argv[1], key='Chart Signer', keyring=sys.argv[2])";
    real_helm(script, &[&path(&copy), &sec]).await;
    let (ok, _, err) = berth_process(&["verify", &path(&copy), "--keyring", &publ], &[]).await;
    assert!(ok, "{err}");
    let signed_text = |p: &str| {
        let t = std::fs::read_to_string(p).unwrap();
        t[..t.find("-----BEGIN PGP SIGNATURE-----").unwrap()].to_string()
    };
    assert_eq!(
        signed_text(&format!("{archive}.prov")),
        signed_text(&format!("{}.prov", path(&copy)))
    );

    // Another signer's keyring, a changed archive, a missing .prov: refused.
    let (ok, _, err) = berth_process(&["verify", &archive, "--keyring", &other_pub], &[]).await;
    assert!(!ok);
    assert_eq!(err, "Error: openpgp: signature made by unknown entity\n");
    std::fs::write(&copy, b"\x1f\x8b not the chart").unwrap();
    let (ok, _, err) = berth_process(&["verify", &path(&copy), "--keyring", &publ], &[]).await;
    assert!(!ok);
    assert!(
        err.starts_with("Error: sha256 sum does not match for web-1.2.0.tgz: \"sha256:"),
        "{err}"
    );
    std::fs::remove_file(format!("{}.prov", path(&copy))).unwrap();
    let (ok, _, err) = berth_process(&["verify", &path(&copy), "--keyring", &publ], &[]).await;
    assert!(!ok);
    assert!(err.contains("could not load provenance file"), "{err}");
    // Signing needs --key, and a secret key.
    let (ok, _, err) = berth_process(
        &[
            "package",
            &chart(dir.path()),
            "-d",
            &out,
            "--sign",
            "--keyring",
            &sec,
        ],
        &[],
    )
    .await;
    assert!(!ok);
    assert_eq!(err, "Error: --key is required for signing a package\n");
    let (ok, _, err) = sign_package(dir.path(), &out, &publ).await;
    assert!(!ok);
    assert!(err.contains("not a private key"), "{err}");
}

#[tokio::test]
async fn verify_checks_a_local_or_downloaded_chart_before_it_is_used() {
    let env = Env::start().await;
    let dir = env.dir.path();
    let (sec, publ) = keyrings(dir, "Chart Signer <sign@example.com>");
    let out = path(&dir.join("out"));
    let (ok, _, err) = sign_package(dir, &out, &sec).await;
    assert!(ok, "{err}");
    let archive = format!("{out}/web-1.2.0.tgz");

    // A local archive with its .prov: installed once verified.
    env.berth(&[
        "install",
        "signed",
        &archive,
        "--verify",
        "--keyring",
        &publ,
    ])
    .await
    .ok();
    assert!(
        env.get("v1", "ConfigMap", "default", "signed-web")
            .await
            .is_some()
    );
    // An unpacked chart cannot be verified (Helm's words), nothing installed.
    let refused = env
        .berth(&[
            "install",
            "dir",
            &chart(dir),
            "--verify",
            "--keyring",
            &publ,
        ])
        .await
        .failed();
    assert!(
        refused
            .stderr
            .contains("unpacked charts cannot be verified"),
        "{}",
        refused.stderr
    );
    env.berth(&["status", "dir"]).await.failed();

    // From a repository: the .prov is fetched beside the chart.
    let repo = web_repository(&archive, true).await;
    let url = format!("{}/charts", repo.url);
    let pulled = path(&dir.join("pulled"));
    let (ok, report, err) = berth_process(
        &[
            "pull",
            "web",
            "--repo",
            &url,
            "--verify",
            "--keyring",
            &publ,
            "-d",
            &pulled,
        ],
        &[],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        report.starts_with("Signed by: Chart Signer <sign@example.com>\n"),
        "{report}"
    );
    assert!(Path::new(&format!("{pulled}/web-1.2.0.tgz.prov")).exists());
    env.berth(&[
        "template",
        "x",
        "web",
        "--repo",
        &url,
        "--verify",
        "--keyring",
        &publ,
    ])
    .await
    .ok();

    // dependency update --verify checks each chart it downloads.
    let parent = dir.join("parent");
    let (ok, _, err) = update_verified(&parent, "1.2.0", &url, &publ, &[]).await;
    assert!(ok, "{err}");
    assert!(parent.join("charts/web-1.2.0.tgz").exists());

    // A repository without the .prov: refused before anything is used.
    let bare = web_repository(&archive, false).await;
    let url = format!("{}/charts", bare.url);
    let refused = env
        .berth(&[
            "install",
            "unsigned",
            "web",
            "--repo",
            &url,
            "--verify",
            "--keyring",
            &publ,
        ])
        .await
        .failed();
    assert!(
        refused.stderr.contains("failed to fetch provenance"),
        "{}",
        refused.stderr
    );
    env.berth(&["status", "unsigned"]).await.failed();
    // The same for a dependency: refused, charts/ left as it was.
    std::fs::remove_dir_all(parent.join("charts")).unwrap();
    let (ok, _, err) = update_verified(&parent, "1.2.0", &url, &publ, &[]).await;
    assert!(!ok);
    assert!(err.contains("failed to fetch provenance"), "{err}");
    assert!(!parent.join("charts/web-1.2.0.tgz").exists());
}

#[tokio::test]
async fn verify_checks_a_chart_from_an_oci_registry_with_its_provenance_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (sec, publ) = keyrings(dir.path(), "Chart Signer <sign@example.com>");
    let out = path(&dir.path().join("out"));
    let registry = PushRegistry::start("Basic dXNlcjpwYXNz").await;
    let remote = format!("oci://{}/charts", registry.host);
    let reference = format!("{remote}/web");
    let pulled = path(&dir.path().join("pulled"));
    let access = ["--username", "user", "--password", "pass", "--plain-http"];
    let push = |archive: String| {
        let remote = remote.clone();
        async move {
            let mut args = vec!["push", &archive, &remote];
            args.extend(access);
            berth_process(&args, &[]).await
        }
    };
    let pull = |version: &'static str| {
        let (reference, publ, pulled) = (reference.clone(), publ.clone(), pulled.clone());
        async move {
            let mut args = vec![
                "pull",
                &reference,
                "--version",
                version,
                "--verify",
                "--keyring",
                &publ,
                "-d",
                &pulled,
            ];
            args.extend(access);
            berth_process(&args, &[]).await
        }
    };

    // Pushed with its .prov beside it, which push sends as Helm's
    // provenance layer; pull --verify checks the chart with it.
    let (ok, _, err) = sign_package(dir.path(), &out, &sec).await;
    assert!(ok, "{err}");
    let (ok, _, err) = push(format!("{out}/web-1.2.0.tgz")).await;
    assert!(ok, "{err}");
    let (ok, report, err) = pull("1.2.0").await;
    assert!(ok, "{err}");
    // As Helm's: what its registry client pulled, then who signed it.
    let (pulled_lines, signed) = report.split_once("Signed by: ").unwrap_or_default();
    assert!(
        pulled_lines.starts_with(&format!(
            "Pulled: {}/charts/web:1.2.0\nDigest: sha256:",
            registry.host
        )) && signed.starts_with("Chart Signer <sign@example.com>\n"),
        "{report}"
    );
    assert!(Path::new(&format!("{pulled}/web-1.2.0.tgz.prov")).exists());

    // A chart pushed without a .prov has no such layer: refused, not saved.
    let unsigned = dir.path().join("unsigned");
    write_file(
        &unsigned.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.3.0\n",
    );
    let (ok, _, err) = berth_process(&["package", &path(&unsigned), "-d", &out], &[]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = push(format!("{out}/web-1.3.0.tgz")).await;
    assert!(ok, "{err}");
    let (ok, _, err) = pull("1.3.0").await;
    assert!(!ok);
    assert!(
        err.contains("manifest does not contain a layer with mediatype application/vnd.cncf.helm.chart.provenance.v1.prov"),
        "{err}"
    );
    assert!(!Path::new(&format!("{pulled}/web-1.3.0.tgz")).exists());

    // The same for a chart's oci:// dependencies.
    let parent = dir.path().join("parent");
    let (ok, _, err) = update_verified(&parent, "1.2.0", &remote, &publ, &access).await;
    assert!(ok, "{err}");
    assert!(parent.join("charts/web-1.2.0.tgz").exists());
    let (ok, _, err) = update_verified(&parent, "1.3.0", &remote, &publ, &access).await;
    assert!(!ok);
    assert!(err.contains("manifest does not contain a layer"), "{err}");
    assert!(!parent.join("charts/web-1.3.0.tgz").exists());
}
