//! Helm's plugins: `berth plugin install|list|uninstall|update|package|verify`
//! over Helm's plugins directory, `berth NAME` running the CLI plugin NAME
//! with Helm's variables, and getter plugins downloading charts of their
//! URL scheme, each as Helm v4 does it (pkg/cmd/plugin_*.go,
//! internal/plugin).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::{path, small_chart, write_file};
use crate::provenance::keyrings;
use crate::repos::{PushRegistry, Repo};

/// Helm's homes of one test, and the berth binary run in them.
struct Home {
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn plugins(&self) -> PathBuf {
        self.path("data/plugins")
    }

    async fn berth_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = tokio::process::Command::new(crate::common::bin_dir().join("berth"));
        cmd.args(args);
        for var in [
            "XDG_CONFIG_HOME",
            "XDG_CACHE_HOME",
            "XDG_DATA_HOME",
            "HELM_PLUGINS",
            "HELM_NO_PLUGINS",
            "HELM_REPOSITORY_CONFIG",
            "HELM_REPOSITORY_CACHE",
            "HELM_REGISTRY_CONFIG",
            "BERTH_NAMESPACE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HELM_DATA_HOME", self.path("data"))
            .env("HELM_CACHE_HOME", self.path("cache"))
            .env("HELM_CONFIG_HOME", self.path("config"))
            .env("HOME", self.dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().await.unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn berth(&self, args: &[&str]) -> Run {
        self.berth_env(args, &[]).await
    }

    /// [`Home::berth_env`] against `env`'s agent (its connection flags
    /// appended).
    async fn berth_agent(
        &self,
        env: &crate::common::Env,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Run {
        let conn = env.conn_args();
        let mut full = args.to_vec();
        full.extend(conn.iter().map(String::as_str));
        self.berth_env(&full, vars).await
    }
}

fn executable(p: &Path, text: &str) {
    write_file(p, text);
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The plugin directory `dir`, its plugin.yaml holding `yaml`.
fn plugin_dir(dir: PathBuf, yaml: &str) -> PathBuf {
    write_file(&dir.join("plugin.yaml"), yaml);
    dir
}

impl Home {
    /// `plugin install` of a new plugin directory src/NAME whose
    /// plugin.yaml holds `yaml`, which must succeed; the directory.
    async fn install_new(&self, name: &str, yaml: &str) -> PathBuf {
        let dir = plugin_dir(self.path("src").join(name), yaml);
        let r = self.berth(&["plugin", "install", &path(&dir)]).await;
        assert_eq!(r.code, 0, "{}", r.err);
        dir
    }
}

/// A legacy CLI plugin "hello" in `dir/hello`: it prints its arguments and
/// Helm's variables, exits with $EXIT, and its hooks say what they saw.
fn hello_plugin(dir: &Path, version: &str) -> PathBuf {
    let p = plugin_dir(
        dir.join("hello"),
        &format!(
            "name: hello\nversion: {version}\nusage: \"say hello\"\ndescription: \"says hello at length\"\ncommand: \"$HELM_PLUGIN_DIR/run.sh --from-yaml\"\nhooks:\n  install: \"echo install hook in $HELM_PLUGIN_DIR\"\n  update: \"echo update hook of $HELM_PLUGIN_NAME\"\n  delete: \"echo delete hook of $HELM_PLUGIN_NAME\"\n"
        ),
    );
    executable(
        &p.join("run.sh"),
        "#!/bin/sh\necho \"args: $*\"\necho \"ns=$HELM_NAMESPACE debug=$HELM_DEBUG name=$HELM_PLUGIN_NAME dir=$HELM_PLUGIN_DIR ctx=$HELM_KUBECONTEXT\"\necho \"plugins=$HELM_PLUGINS\"\nif [ -n \"$CALL_BACK\" ]; then \"$HELM_BIN\" env BERTH_NAMESPACE; fi\nexit ${EXIT:-0}\n",
    );
    p
}

#[tokio::test]
async fn a_plugin_from_a_directory_installs_runs_as_a_command_and_uninstalls() {
    let home = Home::new();
    let src = hello_plugin(&home.path("src"), "0.1.0");

    let r = home.berth(&["plugin", "install", &path(&src)]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let installed = home.plugins().join("hello");
    assert_eq!(
        r.out,
        format!(
            "Installing plugin from local directory (development mode)\ninstall hook in {}\nInstalled plugin: hello\n",
            path(&installed)
        )
    );
    // A local directory is linked, as Helm links it.
    assert_eq!(std::fs::read_link(&installed).unwrap(), src);

    let r = home.berth(&["plugin", "list"]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let rows: Vec<Vec<&str>> = r
        .out
        .lines()
        .map(|l| l.split('\t').map(str::trim).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec![
                "NAME",
                "VERSION",
                "TYPE",
                "APIVERSION",
                "PROVENANCE",
                "SOURCE"
            ],
            vec!["hello", "0.1.0", "cli/v1", "legacy", "local dev", "unknown"]
        ]
    );
    let r = home.berth(&["plugin", "list", "--type", "getter/v1"]).await;
    assert_eq!(r.out.lines().count(), 1, "{}", r.out);

    // berth NAME: Helm's flags become variables, the rest is the plugin's.
    let r = home
        .berth(&[
            "hello",
            "a",
            "-n",
            "prod",
            "--kube-context=kind",
            "--x=1",
            "--debug",
            "b",
        ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.out,
        format!(
            "args: --from-yaml a --x=1 b\nns=prod debug=true name=hello dir={} ctx=kind\nplugins={}\n",
            path(&installed),
            path(&home.plugins())
        )
    );
    // Global flags before the name count too, and $HELM_BIN is berth.
    let r = home
        .berth_env(&["--namespace", "shop", "hello"], &[("CALL_BACK", "1")])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("ns=shop "), "{}", r.out);
    assert!(r.out.ends_with("\nshop\n"), "{}", r.out);
    // The plugin's exit status is berth's.
    let r = home.berth_env(&["hello"], &[("EXIT", "3")]).await;
    assert_eq!(r.code, 3);
    assert_eq!(r.err, "Error: plugin \"hello\" exited with error\n");
    // berth's help lists it among the commands; HELM_NO_PLUGINS hides it.
    // A plugin named as a berth command is neither listed nor run.
    home.install_new(
        "env",
        "name: env\nversion: 0.1.0\nusage: shadow\ncommand: echo shadowed\n",
    )
    .await;
    let r = home.berth(&["env", "HELM_PLUGINS"]).await;
    assert_eq!(r.out, format!("{}\n", path(&home.plugins())));
    let r = home.berth(&["--help"]).await;
    assert!(
        r.out.contains("Plugins:\n  hello  say hello\n\n"),
        "{}",
        r.out
    );
    let r = home
        .berth_env(&["hello"], &[("HELM_NO_PLUGINS", "1")])
        .await;
    assert_eq!(r.code, 2);
    assert_eq!(r.err, "Error: unrecognized subcommand 'hello'\n");
    let r = home.berth(&["nothere"]).await;
    assert_eq!(
        (r.code, r.err.as_str()),
        (2, "Error: unrecognized subcommand 'nothere'\n")
    );

    // Installing it again, or updating what is not from Git, is refused.
    let r = home.berth(&["plugin", "install", &path(&src)]).await;
    assert_eq!(r.code, 1);
    assert!(r.err.contains("plugin already exists"), "{}", r.err);
    let r = home.berth(&["plugin", "update", "hello"]).await;
    assert_eq!(
        r.err,
        "Error: failed to update plugin hello, got error (cannot get information about plugin source)\n"
    );

    home.berth(&["plugin", "uninstall", "env"]).await;
    let r = home.berth(&["plugin", "uninstall", "hello", "nope"]).await;
    assert_eq!(r.code, 1);
    assert_eq!(r.out, "delete hook of hello\nUninstalled plugin: hello\n");
    assert_eq!(r.err, "Error: plugin: nope not found\n");
    assert!(std::fs::symlink_metadata(&installed).is_err());
    assert!(src.join("plugin.yaml").exists(), "the source is the user's");
    let r = home.berth(&["hello"]).await;
    assert_eq!(r.code, 2);
}

/// A plugin.yaml Helm refuses is refused before anything is installed; one
/// that breaks later is skipped with a warning; v1's platformCommand picks
/// the command of this OS; ignoreFlags drops the arguments.
#[tokio::test]
async fn plugin_metadata_is_read_and_refused_as_helm_reads_it() {
    let home = Home::new();
    let bad = |name: &str, yaml: &str| plugin_dir(home.path("src").join(name), yaml);
    for (dir, want) in [
        (
            bad("dots", "name: a.b\nversion: 1.0.0\ncommand: x\n"),
            "invalid plugin name \"a.b\": must contain only a-z, A-Z, 0-9, _ and -",
        ),
        (
            bad(
                "v1extra",
                "apiVersion: v1\nname: x\nversion: 1.0.0\ntype: cli/v1\nruntime: subprocess\ncolour: red\n",
            ),
            "yaml: unmarshal errors: field colour not found in type plugin.MetadataV1",
        ),
        (
            bad(
                "semver",
                "apiVersion: v1\nname: x\nversion: \"1.0\"\ntype: cli/v1\nruntime: subprocess\n",
            ),
            "invalid plugin `version` \"1.0\": must be valid semver",
        ),
        (
            bad(
                "kind",
                "apiVersion: v1\nname: x\nversion: 1.0.0\ntype: magic/v1\nruntime: subprocess\n",
            ),
            "failed to convert MetadataV1 to Metadata: unknown plugin type \"magic/v1\"",
        ),
        (
            bad("yaml", "name: [x\n"),
            "failed to peek plugin.yaml API version:",
        ),
    ] {
        let r = home.berth(&["plugin", "install", &path(&dir)]).await;
        assert_eq!(r.code, 1, "{}", r.out);
        assert_eq!(r.err.lines().count(), 1, "{}", r.err);
        assert!(r.err.contains(want), "{want} in {}", r.err);
    }
    assert!(
        !home.plugins().exists() || std::fs::read_dir(home.plugins()).unwrap().next().is_none(),
        "nothing installed"
    );
    let r = home
        .berth(&["plugin", "install", &path(&home.path("src/missing"))])
        .await;
    assert!(
        r.err
            .starts_with("Error: cannot get information about plugin source"),
        "{}",
        r.err
    );
    let empty = home.path("src/empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = home.berth(&["plugin", "install", &path(&empty)]).await;
    assert_eq!(r.err, "Error: plugin metadata (plugin.yaml) missing\n");

    // A v1 CLI plugin: the command for this OS, ignoreFlags.
    home.install_new(
        "multi",
        "apiVersion: v1\nname: multi\nversion: 2.0.0\ntype: cli/v1\nruntime: subprocess\nsourceURL: https://example.com/multi\nconfig:\n  shortHelp: many platforms\n  ignoreFlags: true\nruntimeConfig:\n  platformCommand:\n  - {os: plan9, command: \"false\"}\n  - {os: linux, command: echo, args: [linux, \"${HELM_PLUGIN_NAME}\"]}\n  - {command: \"false\"}\n",
    )
    .await;
    let r = home.berth(&["multi", "dropped", "--too"]).await;
    assert_eq!((r.code, r.out.as_str()), (0, "linux multi\n"), "{}", r.err);

    // A plugin broken after its install is skipped, with a warning.
    plugin_dir(home.plugins().join("broken"), "name: broken!\n");
    let r = home.berth(&["plugin", "list"]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.err.contains("failed to load plugin (ignoring)"),
        "{}",
        r.err
    );
    assert!(
        r.out
            .contains("multi\t2.0.0  \tcli/v1\tv1        \tlocal dev \thttps://example.com/multi"),
        "{}",
        r.out
    );
    assert!(!r.out.contains("broken"), "{}", r.out);
}

/// The hello plugin 1.2.3 in src/, packaged and signed into dist/ by a
/// key made for the test: the plugin, the archive, the public keyring, and
/// what `plugin package` said.
async fn signed_hello(home: &Home) -> (PathBuf, PathBuf, String, Run) {
    let (sec, publ) = keyrings(home.dir.path(), "Plugin Signer <p@example.com>");
    let src = hello_plugin(&home.path("src"), "1.2.3");
    let dist = home.path("dist");
    let r = home
        .berth(&[
            "plugin",
            "package",
            &path(&src),
            "-d",
            &path(&dist),
            "--key",
            "Plugin Signer",
            "--keyring",
            &sec,
        ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    (src, dist.join("hello-1.2.3.tgz"), publ, r)
}

/// `plugin package` signs what `plugin verify` and `plugin install` check:
/// from a path or an http(s) URL, with the .prov beside it; without one,
/// or with a tampered archive, nothing is installed unless --verify=false.
#[tokio::test]
async fn plugin_archives_are_packaged_signed_verified_and_installed() {
    let home = Home::new();
    let (src, tgz, publ, r) = signed_hello(&home).await;
    let dist = home.path("dist");
    assert_eq!(
        r.out,
        format!(
            "Successfully signed. Signature written to: {}.prov\nSuccessfully packaged plugin and saved it to: {}\n",
            path(&tgz),
            path(&tgz)
        )
    );
    let r = home
        .berth(&["plugin", "verify", &path(&tgz), "--keyring", &publ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out
            .starts_with("Signed by: Plugin Signer <p@example.com>\nUsing Key With Fingerprint: "),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("\nPlugin Hash Verified: sha256:"),
        "{}",
        r.out
    );
    // Packaging signs by default: without a key it is refused.
    let r = home
        .berth(&["plugin", "package", &path(&src), "-d", &path(&dist)])
        .await;
    assert_eq!(r.err, "Error: private key not found\n");

    // Installed from the archive, checked with the public keyring.
    let r = home
        .berth(&["plugin", "install", &path(&tgz), "--keyring", &publ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.starts_with(
            "Verifying plugin signature...\nSigned by: Plugin Signer <p@example.com>\n"
        ),
        "{}",
        r.out
    );
    assert!(
        r.out.ends_with(&format!(
            "install hook in {}\nInstalled plugin: hello\n",
            path(&home.plugins().join("hello"))
        )),
        "{}",
        r.out
    );
    assert!(home.plugins().join("hello/run.sh").is_file());
    assert!(home.plugins().join("hello-1.2.3.tgz.prov").is_file());
    let r = home.berth(&["plugin", "list"]).await;
    assert!(r.out.contains("\tsigned"), "{}", r.out);
    let r = home.berth(&["hello", "x"]).await;
    assert!(r.out.starts_with("args: --from-yaml x\n"), "{}", r.out);
    let r = home.berth(&["plugin", "uninstall", "hello"]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        std::fs::read_dir(home.plugins()).unwrap().count(),
        0,
        "the kept archive goes too"
    );

    // The same from an http(s) URL, its .prov fetched beside it.
    let data = std::fs::read(&tgz).unwrap();
    let prov = std::fs::read(format!("{}.prov", path(&tgz))).unwrap();
    let mut tampered = data.clone();
    let n = tampered.len();
    tampered[n - 10] ^= 0xff;
    let server = Repo::start(
        HashMap::from([
            ("/hello-1.2.3.tgz".to_string(), data.clone()),
            ("/hello-1.2.3.tgz.prov".to_string(), prov.clone()),
            ("/bad/hello-1.2.3.tgz".to_string(), tampered),
            ("/bad/hello-1.2.3.tgz.prov".to_string(), prov),
            ("/unsigned/hello-1.2.3.tgz".to_string(), data),
        ]),
        None,
    )
    .await;
    let url = |p: &str| format!("{}/{p}", server.url.trim_end_matches('/'));
    let r = home
        .berth(&[
            "plugin",
            "install",
            &url("bad/hello-1.2.3.tgz"),
            "--keyring",
            &publ,
        ])
        .await;
    assert_eq!(r.code, 1);
    assert!(
        r.err
            .starts_with("Error: plugin verification failed: sha256 sum does not match"),
        "{}",
        r.err
    );
    let r = home
        .berth(&[
            "plugin",
            "install",
            &url("unsigned/hello-1.2.3.tgz"),
            "--keyring",
            &publ,
        ])
        .await;
    assert_eq!(
        r.err,
        "Error: plugin verification failed: no provenance file (.prov) found\n"
    );
    assert!(
        std::fs::read_dir(home.plugins()).unwrap().next().is_none(),
        "nothing installed"
    );
    let r = home
        .berth(&[
            "plugin",
            "install",
            &url("hello-1.2.3.tgz"),
            "--keyring",
            &publ,
        ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.ends_with("Installed plugin: hello\n"), "{}", r.out);
    home.berth(&["plugin", "uninstall", "hello"]).await;
    let r = home
        .berth(&[
            "plugin",
            "install",
            &url("unsigned/hello-1.2.3.tgz"),
            "--verify=false",
        ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out
            .starts_with("WARNING: Skipping plugin signature verification\n"),
        "{}",
        r.out
    );
    let r = home.berth(&["plugin", "list"]).await;
    assert!(r.out.contains("\tunsigned"), "{}", r.out);
}

/// A tar entry that climbs out of the plugin's directory is refused, and
/// nothing is written.
#[tokio::test]
async fn a_plugin_archive_cannot_write_outside_its_directory() {
    let home = Home::new();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut add = |name: &str, text: &str| {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // set_path refuses "..": write the name bytes as an attacker would.
        let bytes = name.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        h.set_cksum();
        b.append(&h, text.as_bytes()).unwrap();
    };
    add(
        "evil/plugin.yaml",
        "name: evil\nversion: 1.0.0\ncommand: x\n",
    );
    add("evil/../../escaped", "x");
    let data = b.into_inner().unwrap().finish().unwrap();
    let tgz = home.path("evil-1.0.0.tgz");
    std::fs::write(&tgz, data).unwrap();
    let r = home
        .berth(&["plugin", "install", &path(&tgz), "--verify=false"])
        .await;
    assert_eq!(r.code, 1);
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);
    assert!(
        r.err.contains("path contains '..', which is illegal"),
        "{}",
        r.err
    );
    assert!(!home.path("escaped").exists() && !home.path("data/escaped").exists());
    assert!(!home.plugins().join("evil").exists());
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Git source: cloned, checked out at the newest tag a constraint allows
/// (or a branch), copied in, and pulled by `plugin update`.
#[tokio::test]
async fn a_plugin_from_git_installs_at_a_version_and_updates() {
    let home = Home::new();
    let repo = home.path("upstream/hello-plugin");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    for v in ["0.1.0", "0.1.5", "0.2.0"] {
        std::fs::remove_dir_all(repo.join("hello")).ok();
        let p = hello_plugin(&repo, v);
        for f in ["plugin.yaml", "run.sh"] {
            std::fs::rename(p.join(f), repo.join(f)).unwrap();
        }
        git(&repo, &["add", "plugin.yaml", "run.sh"]);
        git(&repo, &["commit", "-q", "-m", v]);
        git(&repo, &["tag", v]);
    }
    let source = format!("file://{}", path(&repo));

    let r = home.berth(&["plugin", "install", &source]).await;
    assert_eq!(
        r.err,
        "Error: plugin source does not support verification. Use --verify=false to skip verification\n"
    );
    let r = home
        .berth(&[
            "plugin",
            "install",
            &source,
            "--version",
            "~0.1",
            "--verify=false",
        ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = home.berth(&["plugin", "list"]).await;
    assert!(
        r.out
            .contains("hello\t0.1.5  \tcli/v1\tlegacy    \tunsigned  \tunknown"),
        "{}",
        r.out
    );
    let r = home
        .berth(&[
            "plugin",
            "install",
            &format!("{source}-nope"),
            "--verify=false",
        ])
        .await;
    assert_eq!(r.code, 1);
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);
    let r = home.berth(&["plugin", "uninstall", "hello"]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = home
        .berth(&[
            "plugin",
            "install",
            &source,
            "--version",
            ">5",
            "--verify=false",
        ])
        .await;
    assert!(
        r.err
            .contains("requested version \">5\" does not exist for plugin"),
        "{}",
        r.err
    );

    // From the branch; a new commit upstream arrives with `plugin update`.
    let r = home
        .berth(&["plugin", "install", &source, "--verify=false"])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    let text = std::fs::read_to_string(repo.join("plugin.yaml")).unwrap();
    std::fs::write(repo.join("plugin.yaml"), text.replace("0.2.0", "0.3.0")).unwrap();
    git(&repo, &["commit", "-q", "-am", "0.3.0"]);
    let r = home.berth(&["plugin", "update", "hello"]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out, "update hook of hello\nUpdated plugin: hello\n");
    let r = home.berth(&["plugin", "list"]).await;
    assert!(r.out.contains("hello\t0.3.0"), "{}", r.out);
    // A plugin someone edited in place is not pulled over.
    std::fs::write(
        home.plugins().join("hello-plugin/run.sh"),
        "#!/bin/sh\necho mine\n",
    )
    .unwrap();
    let r = home.berth(&["plugin", "update", "hello"]).await;
    assert_eq!(
        r.err,
        "Error: failed to update plugin hello, got error (plugin repo was modified)\n"
    );
}

/// A getter plugin serves the URLs of its scheme, as helm-s3 serves s3://:
/// `repo add`, `pull` of the repository's chart and of a direct URL.
#[tokio::test]
async fn a_getter_plugin_downloads_the_charts_of_its_scheme() {
    let home = Home::new();
    // The "bucket": a chart repository in a directory.
    let bucket = home.path("bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let chart = small_chart(
        &home.path("charts"),
        "web",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
        )],
    );
    let r = home.berth(&["package", &chart, "-d", &path(&bucket)]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = home
        .berth(&["repo", "index", &path(&bucket), "--url", "fake://bucket"])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);

    let getter = plugin_dir(
        home.path("src/fake"),
        "name: fake\nversion: 0.1.0\ndownloaders:\n- command: bin/get\n  protocols: [fake]\n",
    );
    executable(
        &getter.join("bin/get"),
        &format!(
            "#!/bin/sh\n[ \"$#\" = 4 ] || exit 9\necho \"$HELM_PLUGIN_NAME $HELM_PLUGIN_USERNAME $4\" >> {}/calls\nexec cat \"{}/${{4#fake://bucket/}}\"\n",
            path(home.dir.path()),
            path(&bucket)
        ),
    );
    let r = home.berth(&["plugin", "install", &path(&getter)]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = home.berth(&["plugin", "list"]).await;
    assert!(r.out.contains("fake\t0.1.0  \tgetter/v1"), "{}", r.out);
    // A getter is no command.
    let r = home.berth(&["fake"]).await;
    assert_eq!(r.code, 2);

    let r = home
        .berth(&[
            "repo",
            "add",
            "b",
            "fake://bucket",
            "--username",
            "ci",
            "--password",
            "pw",
        ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    let out = home.path("out");
    let r = home.berth(&["pull", "b/web", "-d", &path(&out)]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(out.join("web-1.0.0.tgz").is_file());
    let r = home
        .berth(&[
            "pull",
            "fake://bucket/web-1.0.0.tgz",
            "-d",
            &path(&home.path("out2")),
        ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        std::fs::read(home.path("out2/web-1.0.0.tgz")).unwrap(),
        std::fs::read(out.join("web-1.0.0.tgz")).unwrap()
    );
    let calls = std::fs::read_to_string(home.path("calls")).unwrap();
    assert_eq!(
        calls,
        "fake ci fake://bucket/index.yaml\nfake ci fake://bucket/web-1.0.0.tgz\nfake  fake://bucket/web-1.0.0.tgz\n"
    );
    // A scheme nobody serves is refused in one line.
    let r = home.berth(&["repo", "add", "c", "nope://x"]).await;
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("could not find protocol handler for: nope"),
        "{}",
        r.err
    );
}

/// A postrenderer/v1 plugin "labeler": it labels every document with its
/// first argument and adds a ConfigMap of its own; with FAIL set it fails.
fn labeler(dir: &Path) -> PathBuf {
    let p = plugin_dir(
        dir.join("labeler"),
        "apiVersion: v1\nname: labeler\nversion: 0.1.0\ntype: postrenderer/v1\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n  - command: \"${HELM_PLUGIN_DIR}/render.sh\"\n",
    );
    executable(
        &p.join("render.sh"),
        "#!/bin/sh\nif [ -n \"$FAIL\" ]; then echo 'something went wrong' >&2; echo 'boom: kustomization.yaml not found' >&2; exit 1; fi\nsed \"s/^metadata:\\$/metadata:\\n  labels:\\n    post-rendered: \\\"$1\\\"/\"\nprintf -- '---\\napiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: extra\\ndata:\\n  from: post-renderer\\n'\n",
    );
    p
}

/// A chart with a ConfigMap and a pre-install/pre-upgrade hook.
fn post_chart(dir: &Path) -> String {
    small_chart(
        dir,
        "web",
        &[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  v: {{ .Values.v | default \"1\" | quote }}\n",
            ),
            (
                "hook.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n",
            ),
        ],
    )
}

/// Helm's --post-renderer: `template` locally, install and upgrade through
/// berthd, which sends the rendered documents back to the CLI for the
/// plugin and goes on with what it made of them.
#[tokio::test]
async fn a_post_renderer_plugin_changes_what_is_templated_and_installed() {
    let env = crate::common::Env::start().await;
    let home = Home::new();
    let src = labeler(&home.path("src"));
    let r = home.berth(&["plugin", "install", &path(&src)]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let chart = post_chart(&home.path("charts"));

    let r = home
        .berth(&[
            "template",
            "shop",
            &chart,
            "--post-renderer",
            "labeler",
            "--post-renderer-args",
            "yes",
        ])
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    // Helm's stream: each post-rendered file ends with a newline, so a
    // blank line follows it but where Helm trims the manifest.
    assert_eq!(
        r.out,
        "---\n# Source: generated-by-postrender-2.yaml\napiVersion: v1\ndata:\n  from: post-renderer\nkind: ConfigMap\nmetadata:\n  name: extra\n\n---\n# Source: web/templates/cm.yaml\napiVersion: v1\ndata:\n  v: \"1\"\nkind: ConfigMap\nmetadata:\n  labels:\n    post-rendered: \"yes\"\n  name: shop-cm\n---\n# Source: web/templates/hook.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n  labels:\n    post-rendered: \"yes\"\n  name: shop-hook\n\n"
    );

    let r = home
        .berth_agent(
            &env,
            &[
                "install",
                "shop",
                &chart,
                "--post-renderer",
                "labeler",
                "--post-renderer-args",
                "v1",
            ],
            &[],
        )
        .await;
    assert_eq!(r.code, 0, "{}\n{}", r.out, r.err);
    let cm = env
        .get("v1", "ConfigMap", "default", "shop-cm")
        .await
        .expect("installed");
    assert_eq!(cm["metadata"]["labels"]["post-rendered"], "v1");
    let hook = env
        .get("v1", "ConfigMap", "default", "shop-hook")
        .await
        .expect("hook ran");
    assert_eq!(hook["metadata"]["labels"]["post-rendered"], "v1");
    let extra = env
        .get("v1", "ConfigMap", "default", "extra")
        .await
        .expect("added by the plugin");
    assert_eq!(extra["data"]["from"], "post-renderer");
    let manifest = env.berth(&["get", "manifest", "shop"]).await.ok().stdout;
    assert!(
        manifest.contains("# Source: generated-by-postrender-2.yaml\n"),
        "{manifest}"
    );
    assert!(manifest.contains("post-rendered: v1\n"), "{manifest}");
    assert!(!manifest.contains("postrender-filename"), "{manifest}");
    // The documents are not kept in the revision's events.
    let events = env.berth(&["watch", "shop", "--events", "ndjson"]).await;
    assert!(
        events.stdout.contains("\"type\":\"postRender\""),
        "{}",
        events.stdout
    );
    assert!(
        !events.stdout.contains("postrender-filename"),
        "{}",
        events.stdout
    );

    // The upgrade's post-renderer fails: nothing is recorded or applied.
    let upgrade = [
        "upgrade",
        "shop",
        &chart,
        "--set",
        "v=2",
        "--post-renderer",
        "labeler",
    ];
    let r = home.berth_agent(&env, &upgrade, &[("FAIL", "1")]).await;
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(
        r.err.contains("error while running post render on files: failed to invoke post-renderer plugin \"labeler\": plugin \"labeler\" exited with error: boom: kustomization.yaml not found"),
        "{}",
        r.err
    );
    let history = env
        .berth(&["history", "shop", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    let cm = env
        .get("v1", "ConfigMap", "default", "shop-cm")
        .await
        .unwrap();
    assert_eq!(cm["data"]["v"], "1");

    // It works, with no arguments; a plugin that is not installed is refused
    // before the agent is asked.
    let r = home.berth_agent(&env, &upgrade, &[]).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let cm = env
        .get("v1", "ConfigMap", "default", "shop-cm")
        .await
        .unwrap();
    assert_eq!(
        (
            cm["data"]["v"].as_str(),
            cm["metadata"]["labels"]["post-rendered"].as_str()
        ),
        (Some("2"), Some(""))
    );
    // diff upgrade shows what the post-renderer would change.
    let diff: Vec<&str> = ["diff"]
        .into_iter()
        .chain(upgrade)
        .chain(["--post-renderer-args", "z"])
        .collect();
    let r = home.berth_agent(&env, &diff, &[]).await;
    assert!(
        r.out.contains("+    post-rendered: z"),
        "{}\n{}",
        r.out,
        r.err
    );
    let r = home
        .berth_agent(
            &env,
            &["upgrade", "shop", &chart, "--post-renderer", "nope"],
            &[],
        )
        .await;
    assert_eq!(
        r.err,
        "Error: plugin: {Name:nope Type:postrenderer/v1} not found\n"
    );
}

/// Helm v4's plugin artifacts in an OCI registry: the layer titled
/// NAME-VERSION.tgz and its .prov, checked as an archive from anywhere.
#[tokio::test]
async fn a_plugin_from_an_oci_registry_is_pulled_verified_and_installed() {
    let home = Home::new();
    let (_, tgz, publ, _) = signed_hello(&home).await;
    let dist = home.path("dist");
    let data = std::fs::read(&tgz).unwrap();
    let prov = std::fs::read(dist.join("hello-1.2.3.tgz.prov")).unwrap();
    let empty = b"{}".to_vec();
    let descriptor = |media: &str, b: &[u8], title: Option<&str>| {
        let mut d = serde_json::json!({
            "mediaType": media,
            "digest": format!("sha256:{}", berth::chart::sha256_hex(b)),
            "size": b.len(),
        });
        if let Some(t) = title {
            d["annotations"] = serde_json::json!({"org.opencontainers.image.title": t});
        }
        d
    };
    let manifest = |artifact: &str, with_prov: bool| {
        let mut layers = vec![descriptor(
            "application/vnd.oci.image.layer.v1.tar",
            &data,
            Some("hello-1.2.3.tgz"),
        )];
        if with_prov {
            layers.push(descriptor(
                "application/vnd.oci.image.layer.v1.tar",
                &prov,
                Some("hello-1.2.3.tgz.prov"),
            ));
        }
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": artifact,
            "config": descriptor("application/vnd.oci.empty.v1+json", &empty, None),
            "layers": layers,
        })
    };
    let registry = PushRegistry::start("Basic dXNlcjpwYXNz").await;
    let blobs: [&[u8]; 3] = [&data, &prov, &empty];
    registry.put(
        "plugins/hello",
        "1.2.3",
        &manifest("application/vnd.helm.plugin.v1+json", true),
        &blobs,
    );
    registry.put(
        "plugins/hello",
        "1.0.0",
        &manifest("application/vnd.helm.plugin.v1+json", true),
        &blobs,
    );
    registry.put(
        "plugins/hello",
        "unsigned",
        &manifest("application/vnd.helm.plugin.v1+json", false),
        &blobs,
    );
    registry.put(
        "charts/hello",
        "1.2.3",
        &manifest("application/vnd.cncf.helm.config.v1+json", true),
        &blobs,
    );
    let host = registry.host.clone();
    let access = ["--plain-http", "--username", "user", "--password", "pass"];
    let at = &home;
    let install = |reference: String, extra: Vec<&str>| {
        let mut args: Vec<String> = vec!["plugin".into(), "install".into(), reference];
        args.extend(access.iter().chain(&extra).map(|s| s.to_string()));
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            at.berth(&args).await
        }
    };

    // Without a tag: the newest version.
    let r = install(
        format!("oci://{host}/plugins/hello"),
        vec!["--keyring", &publ],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.starts_with(&format!("Verifying plugin signature...\nPulled plugin: {host}/plugins/hello:1.2.3\nDigest: sha256:")),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("\nProvenance: hello-1.2.3.tgz.prov\n"),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains("\nSigned by: Plugin Signer <p@example.com>\n"),
        "{}",
        r.out
    );
    assert!(r.out.ends_with("Installed plugin: hello\n"), "{}", r.out);
    let r = home.berth(&["plugin", "list"]).await;
    assert!(
        r.out.contains("hello\t1.2.3  \tcli/v1\tlegacy    \tsigned"),
        "{}",
        r.out
    );
    let r = home.berth(&["plugin", "uninstall", "hello"]).await;
    assert_eq!(r.code, 0, "{}", r.err);

    // No .prov: refused unless --verify=false; not a plugin: refused.
    let r = install(format!("oci://{host}/plugins/hello:unsigned"), vec![]).await;
    assert_eq!(
        r.err,
        "Error: plugin verification failed: no provenance file (.prov) found\n"
    );
    let r = install(
        format!("oci://{host}/plugins/hello:unsigned"),
        vec!["--verify=false"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    home.berth(&["plugin", "uninstall", "hello"]).await;
    let r = install(
        format!("oci://{host}/charts/hello:1.2.3"),
        vec!["--verify=false"],
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("expected artifact type application/vnd.helm.plugin.v1+json, got application/vnd.cncf.helm.config.v1+json"),
        "{}",
        r.err
    );
    assert!(
        std::fs::read_dir(home.plugins()).unwrap().next().is_none(),
        "nothing installed"
    );
}

/// `$HELM_PLUGINS` is a list, as a PATH: plugins load from every directory,
/// install goes to the first, uninstall finds a plugin in any.
#[tokio::test]
async fn the_plugins_directory_may_be_a_list() {
    let home = Home::new();
    let (first, second) = (home.path("first"), home.path("second"));
    let list = format!("{}:{}", path(&first), path(&second));
    let mut other = hello_plugin(&home.path("src"), "0.1.0");
    let moved = second.join("hello");
    std::fs::create_dir_all(&second).unwrap();
    std::fs::rename(&other, &moved).unwrap();
    other = plugin_dir(
        home.path("src/multi"),
        "name: multi\nversion: 1.0.0\ncommand: echo multi\n",
    );
    let vars = [("HELM_PLUGINS", list.as_str())];
    let r = home
        .berth_env(&["plugin", "install", &path(&other)], &vars)
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        first.join("multi").exists(),
        "installed in the first directory"
    );
    let r = home.berth_env(&["plugin", "list"], &vars).await;
    assert!(
        r.out.contains("\nmulti") && r.out.contains("\nhello"),
        "{}",
        r.out
    );
    let r = home.berth_env(&["hello", "x"], &vars).await;
    assert!(r.out.starts_with("args: --from-yaml x\n"), "{}", r.out);
    let r = home
        .berth_env(&["plugin", "uninstall", "hello", "multi"], &vars)
        .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(!moved.exists() && !first.join("multi").exists());
}
