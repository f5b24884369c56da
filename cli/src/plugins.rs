//! Helm's client-side plugins, found and run as Helm v4 finds and runs
//! them (helm/internal/plugin): a directory holding a `plugin.yaml` in the
//! plugins directory (`$HELM_PLUGINS`, default `$HELM_DATA_HOME/plugins`;
//! a list, as a PATH). A plugin's metadata is Helm's legacy file (no
//! `apiVersion`: `name`, `command`/`platformCommand`, `hooks`,
//! `downloaders`, …) or `apiVersion: v1` (`type` cli/v1, getter/v1,
//! postrenderer/v1 or test/v1, `runtime`, `config`, `runtimeConfig`).
//!
//! berth runs the `subprocess` runtime, as Helm does: a command chosen by
//! OS and architecture, `$VAR`s expanded as Go's `os.Expand`, Helm's
//! variables in its environment. A plugin of Helm's `extism/v1` (WebAssembly)
//! runtime is listed but not run: berth has no WebAssembly runtime.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::CliError;

/// The metadata file every plugin directory holds.
pub const FILE: &str = "plugin.yaml";

/// Helm's plugin events: after install, update and uninstall.
pub const INSTALL: &str = "install";
pub const UPDATE: &str = "update";
pub const DELETE: &str = "delete";

/// A loaded plugin: where it is and what its plugin.yaml says.
#[derive(Debug, Clone)]
pub struct Plugin {
    pub dir: PathBuf,
    pub meta: Metadata,
}

/// Helm's `plugin.Metadata`, the one shape both file versions load into.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// `legacy` or `v1`.
    pub api_version: String,
    pub name: String,
    /// cli/v1, getter/v1, postrenderer/v1 or test/v1.
    pub kind: String,
    /// `subprocess` or `extism/v1`.
    pub runtime: String,
    pub version: String,
    pub source_url: String,
    pub config: Config,
    pub subprocess: Subprocess,
}

/// The type's own settings (Helm's schema.Config*V1).
#[derive(Debug, Clone, PartialEq)]
pub enum Config {
    Cli {
        usage: String,
        short_help: String,
        long_help: String,
        ignore_flags: bool,
    },
    Getter {
        protocols: Vec<String>,
    },
    PostRenderer,
    Test,
}

/// The subprocess runtime's settings (Helm's RuntimeConfigSubprocess).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subprocess {
    pub platform_command: Vec<PlatformCommand>,
    pub platform_hooks: BTreeMap<String, Vec<PlatformCommand>>,
    pub protocol_commands: Vec<ProtocolCommand>,
    /// Legacy `hooks:` strings run through `sh -c` unexpanded.
    expand_hook_args: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformCommand {
    pub os: String,
    pub arch: String,
    pub command: String,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtocolCommand {
    pub protocols: Vec<String>,
    pub platform_command: Vec<PlatformCommand>,
}

impl Plugin {
    /// `shortHelp` of a CLI plugin, or Helm's default.
    pub fn short_help(&self) -> String {
        match &self.meta.config {
            Config::Cli { short_help, .. } if !short_help.is_empty() => short_help.clone(),
            _ => format!("the {:?} plugin", self.meta.name),
        }
    }
}

/// The plugins directory, as Helm's `settings.PluginsDirectory`.
pub fn directory() -> PathBuf {
    match std::env::var_os("HELM_PLUGINS") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => crate::charts::helm_home("HELM_DATA_HOME", "XDG_DATA_HOME", ".local/share")
            .join("plugins"),
    }
}

/// The directories plugins are loaded from (`$HELM_PLUGINS` split as a PATH).
pub fn directories() -> Vec<PathBuf> {
    std::env::split_paths(directory().as_os_str()).collect()
}

/// Helm's `LoadDir`: the plugin in `dir`, in Helm's words when it is not one.
pub fn load_dir(dir: &Path) -> Result<Plugin, String> {
    let file = dir.join(FILE);
    let data = std::fs::read(&file).map_err(|e| {
        format!(
            "failed to read plugin at {:?}: {}",
            file.display().to_string(),
            berth::values::go_read_error(&file.display().to_string(), &e)
        )
    })?;
    let meta = parse_metadata(&data)
        .map_err(|e| format!("failed to load plugin {:?}: {e}", dir.display().to_string()))?;
    Ok(Plugin {
        dir: dir.to_path_buf(),
        meta,
    })
}

/// Helm's `LoadAllDir`: every `<base>/*/plugin.yaml`, in name order; a
/// plugin that does not load is reported to `warn` and left out; two of one
/// name are an error.
pub fn load_all(base: &Path, warn: &mut dyn FnMut(String)) -> Result<Vec<Plugin>, String> {
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(base) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join(FILE).exists())
            .collect(),
        Err(_) => Vec::new(),
    };
    dirs.sort();
    let mut found: Vec<Plugin> = Vec::new();
    for dir in dirs {
        match load_dir(&dir) {
            Ok(p) => {
                if let Some(old) = found.iter().find(|o| o.meta.name == p.meta.name) {
                    return Err(format!(
                        "two plugins claim the name {:?} at {:?} and {:?}",
                        p.meta.name,
                        old.dir.display().to_string(),
                        p.dir.display().to_string()
                    ));
                }
                found.push(p);
            }
            Err(e) => warn(format!(
                "failed to load plugin (ignoring) {}: {e}",
                dir.join(FILE).display()
            )),
        }
    }
    Ok(found)
}

/// Helm's `FindPlugins`: the plugins of every plugins directory, of one
/// type and name when given.
pub fn find(
    kind: Option<&str>,
    name: Option<&str>,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<Plugin>, String> {
    let mut out = Vec::new();
    for dir in directories() {
        for p in load_all(&dir, warn)? {
            if kind.is_none_or(|k| k.is_empty() || p.meta.kind == k)
                && name.is_none_or(|n| p.meta.name == n)
            {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// The getter plugin that downloads `scheme://` URLs (Helm's
/// `getter.All(settings).ByScheme`), if one is installed.
pub fn getter_for(scheme: &str) -> Option<Plugin> {
    if std::env::var("HELM_NO_PLUGINS").is_ok_and(|v| v == "1") {
        return None;
    }
    find(Some("getter/v1"), None, &mut |m| eprintln!("WARNING: {m}"))
        .ok()?
        .into_iter()
        .find(|p| matches!(&p.meta.config, Config::Getter { protocols } if protocols.iter().any(|x| x == scheme)))
}

// ---- plugin.yaml ----------------------------------------------------------

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Helm's `loadMetadata`: the apiVersion decides which file this is.
pub fn parse_metadata(data: &[u8]) -> Result<Metadata, String> {
    let text = std::str::from_utf8(data)
        .map_err(|_| format!("failed to peek {FILE} API version: yaml: invalid UTF-8"))?;
    let doc = berth_template::yaml::parse_document(text)
        .map_err(|e| format!("failed to peek {FILE} API version: {e}"))?;
    let map = match doc {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => {
            return Err(format!(
                "failed to peek {FILE} API version: yaml: unmarshal errors: cannot unmarshal {} into plugin.apiVersion",
                go_tag(&other)
            ));
        }
    };
    match string(&map, "apiVersion", "apiVersion")?.as_str() {
        "" => legacy(&map),
        "v1" => v1(&map),
        other => Err(format!("invalid plugin apiVersion: {other:?}")),
    }
}

fn go_tag(v: &Value) -> &'static str {
    match v {
        Value::Null => "!!null",
        Value::Bool(_) => "!!bool",
        Value::Number(n) if n.is_f64() => "!!float",
        Value::Number(_) => "!!int",
        Value::String(_) => "!!str",
        Value::Array(_) => "!!seq",
        Value::Object(_) => "!!map",
    }
}

fn mismatch(v: &Value, want: &str, field: &str) -> String {
    format!(
        "yaml: unmarshal errors: cannot unmarshal {} into {want} (field {field})",
        go_tag(v)
    )
}

/// A scalar as the string go-yaml decodes it into.
fn scalar(v: &Value, field: &str) -> Result<String, String> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(mismatch(other, "string", field)),
    }
}

fn string(m: &Map<String, Value>, key: &str, field: &str) -> Result<String, String> {
    m.get(key).map_or(Ok(String::new()), |v| scalar(v, field))
}

fn boolean(m: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if matches!(s.as_str(), "true" | "false") => Ok(s == "true"),
        Some(other) => Err(mismatch(other, "bool", key)),
    }
}

fn strings(m: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| scalar(v, key)).collect(),
        Some(other) => Err(mismatch(other, "[]string", key)),
    }
}

fn object<'a>(
    v: &'a Value,
    want: &str,
    field: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        other => Err(mismatch(other, want, field)),
    }
}

fn list<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(mismatch(other, "[]", key)),
    }
}

/// go-yaml's KnownFields: a key the Go type does not have.
fn known(m: &Map<String, Value>, fields: &[&str], go_type: &str) -> Result<(), String> {
    match m.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "yaml: unmarshal errors: field {k} not found in type {go_type}"
        )),
        None => Ok(()),
    }
}

fn platform_commands(m: &Map<String, Value>, key: &str) -> Result<Vec<PlatformCommand>, String> {
    list(m, key)?
        .iter()
        .map(|v| {
            let c = object(v, "plugin.PlatformCommand", key)?;
            let Some(c) = c else {
                return Ok(PlatformCommand::default());
            };
            Ok(PlatformCommand {
                os: string(c, "os", "os")?,
                arch: string(c, "arch", "arch")?,
                command: string(c, "command", "command")?,
                args: strings(c, "args")?,
            })
        })
        .collect()
}

fn platform_hooks(
    m: &Map<String, Value>,
    key: &str,
) -> Result<BTreeMap<String, Vec<PlatformCommand>>, String> {
    let mut out = BTreeMap::new();
    if let Some(v) = m.get(key)
        && let Some(hooks) = object(v, "plugin.PlatformHooks", key)?
    {
        for (event, cmds) in hooks {
            let mut wrap = Map::new();
            wrap.insert("x".into(), cmds.clone());
            out.insert(event.clone(), platform_commands(&wrap, "x")?);
        }
    }
    Ok(out)
}

/// Helm's semver check for plugin versions (Masterminds' StrictNewVersion).
fn strict_semver(v: &str) -> bool {
    berth::lint::strict_semver(v)
}

fn legacy(m: &Map<String, Value>) -> Result<Metadata, String> {
    let name = string(m, "name", "name")?;
    let version = string(m, "version", "version")?;
    let usage = crate::output::sanitize(&string(m, "usage", "usage")?).into_owned();
    let description = string(m, "description", "description")?;
    let platform_command = platform_commands(m, "platformCommand")?;
    let command = string(m, "command", "command")?;
    let ignore_flags = boolean(m, "ignoreFlags")?;
    let mut hooks_platform = platform_hooks(m, "platformHooks")?;
    let hooks: BTreeMap<String, String> = match m.get("hooks") {
        None => BTreeMap::new(),
        Some(v) => match object(v, "plugin.Hooks", "hooks")? {
            None => BTreeMap::new(),
            Some(h) => h
                .iter()
                .map(|(k, v)| Ok((k.clone(), scalar(v, "hooks")?)))
                .collect::<Result<_, String>>()?,
        },
    };
    let mut downloaders = Vec::new();
    for d in list(m, "downloaders")? {
        let d = object(d, "plugin.Downloaders", "downloaders")?
            .cloned()
            .unwrap_or_default();
        downloaders.push((strings(&d, "protocols")?, string(&d, "command", "command")?));
    }
    if !valid_name(&name) {
        return Err(format!(
            "invalid plugin name {name:?}: must contain only a-z, A-Z, 0-9, _ and -"
        ));
    }
    if !version.is_empty() && !strict_semver(&version) {
        return Err(format!(
            "invalid plugin version {version:?}: must be valid semver"
        ));
    }
    if !platform_command.is_empty() && !command.is_empty() {
        return Err("both platformCommand and command are set".into());
    }
    if !hooks_platform.is_empty() && !hooks.is_empty() {
        return Err("both platformHooks and hooks are set".into());
    }
    for (i, (protocols, command)) in downloaders.iter().enumerate() {
        if command.is_empty() {
            return Err(format!("downloader {i} has empty command"));
        }
        if protocols.is_empty() {
            return Err(format!("downloader {i} has no protocols"));
        }
        if let Some(j) = protocols.iter().position(String::is_empty) {
            return Err(format!("downloader {i} has empty protocol at index {j}"));
        }
    }
    let kind = if downloaders.is_empty() {
        "cli/v1"
    } else {
        "getter/v1"
    };
    let config = if downloaders.is_empty() {
        Config::Cli {
            usage: String::new(),
            short_help: usage,
            long_help: description,
            ignore_flags,
        }
    } else {
        Config::Getter {
            protocols: downloaders.iter().flat_map(|(p, _)| p.clone()).collect(),
        }
    };
    let mut expand_hook_args = true;
    if hooks_platform.is_empty() && !hooks.is_empty() {
        for (event, command) in hooks {
            hooks_platform.insert(
                event,
                vec![PlatformCommand {
                    command: "sh".into(),
                    args: vec!["-c".into(), command],
                    ..Default::default()
                }],
            );
        }
        expand_hook_args = false;
    }
    let platform_command = if platform_command.is_empty() && !command.is_empty() {
        vec![PlatformCommand {
            command,
            ..Default::default()
        }]
    } else {
        platform_command
    };
    Ok(Metadata {
        api_version: "legacy".into(),
        name,
        kind: kind.into(),
        runtime: "subprocess".into(),
        version,
        source_url: String::new(),
        config,
        subprocess: Subprocess {
            platform_command,
            platform_hooks: hooks_platform,
            protocol_commands: downloaders
                .into_iter()
                .map(|(protocols, command)| ProtocolCommand {
                    protocols,
                    platform_command: vec![PlatformCommand {
                        command,
                        ..Default::default()
                    }],
                })
                .collect(),
            expand_hook_args,
        },
    })
}

fn v1(m: &Map<String, Value>) -> Result<Metadata, String> {
    known(
        m,
        &[
            "apiVersion",
            "name",
            "type",
            "runtime",
            "version",
            "sourceURL",
            "config",
            "runtimeConfig",
        ],
        "plugin.MetadataV1",
    )?;
    let name = string(m, "name", "name")?;
    let version = string(m, "version", "version")?;
    let kind = string(m, "type", "type")?;
    let runtime = string(m, "runtime", "runtime")?;
    if !valid_name(&name) {
        return Err("invalid plugin `name`".into());
    }
    if version.is_empty() {
        return Err("plugin `version` is required".into());
    }
    if !strict_semver(&version) {
        return Err(format!(
            "invalid plugin `version` {version:?}: must be valid semver"
        ));
    }
    if kind.is_empty() {
        return Err("`type` missing".into());
    }
    if runtime.is_empty() {
        return Err("`runtime` missing".into());
    }
    let empty = Map::new();
    let config = match m.get("config") {
        Some(v) => object(v, "map[string]interface {}", "config")?.unwrap_or(&empty),
        None => &empty,
    };
    let convert = |e: String| format!("failed to convert MetadataV1 to Metadata: {e}");
    let config = match kind.as_str() {
        "cli/v1" => {
            known(
                config,
                &["usage", "shortHelp", "longHelp", "ignoreFlags"],
                "schema.ConfigCLIV1",
            )
            .map_err(convert)?;
            Config::Cli {
                usage: string(config, "usage", "usage").map_err(convert)?,
                short_help: string(config, "shortHelp", "shortHelp").map_err(convert)?,
                long_help: string(config, "longHelp", "longHelp").map_err(convert)?,
                ignore_flags: boolean(config, "ignoreFlags").map_err(convert)?,
            }
        }
        "getter/v1" => {
            known(config, &["protocols"], "schema.ConfigGetterV1").map_err(convert)?;
            Config::Getter {
                protocols: strings(config, "protocols").map_err(convert)?,
            }
        }
        "postrenderer/v1" => {
            known(config, &[], "schema.ConfigPostRendererV1").map_err(convert)?;
            Config::PostRenderer
        }
        "test/v1" => {
            known(config, &[], "schema.ConfigTestV1").map_err(convert)?;
            Config::Test
        }
        other => return Err(convert(format!("unknown plugin type {other:?}"))),
    };
    let runtime_config = match m.get("runtimeConfig") {
        Some(v) => object(v, "map[string]interface {}", "runtimeConfig")?.unwrap_or(&empty),
        None => &empty,
    };
    let subprocess = match runtime.as_str() {
        "subprocess" => {
            let r = runtime_config;
            let wrapped = |e: String| {
                convert(format!(
                    "failed to unmarshal runtimeConfig for subprocess runtime: {e}"
                ))
            };
            let mut protocol_commands = Vec::new();
            for p in list(r, "protocolCommands").map_err(wrapped)? {
                let p = object(p, "plugin.SubprocessProtocolCommand", "protocolCommands")
                    .map_err(wrapped)?
                    .cloned()
                    .unwrap_or_default();
                protocol_commands.push(ProtocolCommand {
                    protocols: strings(&p, "protocols").map_err(wrapped)?,
                    platform_command: platform_commands(&p, "platformCommand").map_err(wrapped)?,
                });
            }
            Subprocess {
                platform_command: platform_commands(r, "platformCommand").map_err(wrapped)?,
                platform_hooks: platform_hooks(r, "platformHooks").map_err(wrapped)?,
                protocol_commands,
                expand_hook_args: false,
            }
        }
        "extism/v1" => Subprocess::default(),
        other => {
            return Err(convert(format!(
                "unsupported plugin runtime type: {other:?}"
            )));
        }
    };
    if let Config::Getter { protocols } = &config {
        if protocols.is_empty() {
            return Err("config validation failed: getter has no protocols".into());
        }
        if let Some(i) = protocols.iter().position(String::is_empty) {
            return Err(format!(
                "config validation failed: getter has empty protocol at index {i}"
            ));
        }
    }
    Ok(Metadata {
        api_version: "v1".into(),
        name,
        kind,
        runtime,
        version,
        source_url: string(m, "sourceURL", "sourceURL")?,
        config,
        subprocess,
    })
}

// ---- commands -------------------------------------------------------------

/// Go's `runtime.GOOS` and `runtime.GOARCH` of this build.
fn go_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    };
    (std::env::consts::OS, arch)
}

/// Helm's `getPlatformCommand`: an exact OS and architecture match first,
/// then the first OS match without an architecture, then the first entry
/// with neither.
fn platform_command(cmds: &[PlatformCommand]) -> (Vec<String>, Vec<String>) {
    let (os, arch) = go_platform();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let split = |c: &PlatformCommand| c.command.split(' ').map(String::from).collect::<Vec<_>>();
    let mut chosen: Option<(Vec<String>, Vec<String>)> = None;
    let mut found_os = false;
    for c in cmds {
        if eq(&c.os, os) && eq(&c.arch, arch) {
            return (split(c), c.args.clone());
        }
        if (!c.os.is_empty() && !eq(&c.os, os)) || !c.arch.is_empty() {
            continue;
        }
        if !found_os && !c.os.is_empty() && eq(&c.os, os) {
            chosen = Some((split(c), c.args.clone()));
            found_os = true;
        } else if chosen.is_none() {
            chosen = Some((split(c), c.args.clone()));
        }
    }
    chosen.unwrap_or_default()
}

/// Helm's `PrepareCommands`: the program and its arguments, `$VAR`s of
/// the command (and of the arguments when `expand`) replaced from `env`.
pub fn prepare(
    cmds: &[PlatformCommand],
    expand: bool,
    extra: &[String],
    env: &BTreeMap<String, String>,
) -> Result<(String, Vec<String>), String> {
    let (parts, args) = platform_command(cmds);
    let Some(first) = parts.first().filter(|p| !p.is_empty()) else {
        return Err("no plugin command is applicable".into());
    };
    let lookup = |k: &str| env.get(k).cloned().unwrap_or_default();
    let main = go_expand(first, &lookup);
    let mut out: Vec<String> = parts[1..]
        .iter()
        .chain(args.iter())
        .map(|a| {
            if expand {
                go_expand(a, &lookup)
            } else {
                a.clone()
            }
        })
        .collect();
    out.extend(extra.iter().cloned());
    Ok((main, out))
}

/// Go's `os.Expand`: `$NAME` and `${NAME}` (and the shell's special
/// one-character names) replaced; bad syntax eaten; a `$` before anything
/// else kept.
pub fn go_expand(s: &str, mapping: &dyn Fn(&str) -> String) -> String {
    let b = s.as_bytes();
    let special = |c: u8| b"*#$@!?-0123456789".contains(&c);
    let alnum = |c: u8| c == b'_' || c.is_ascii_alphanumeric();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut touched = false;
    let mut i = 0;
    let mut j = 0;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            touched = true;
            out.extend_from_slice(&b[i..j]);
            let rest = &b[j + 1..];
            let (name, w): (&[u8], usize) = if rest[0] == b'{' {
                if rest.len() > 2 && special(rest[1]) && rest[2] == b'}' {
                    (&rest[1..2], 3)
                } else {
                    match rest.iter().skip(1).position(|&c| c == b'}') {
                        Some(0) => (&[][..], 2),
                        Some(p) => (&rest[1..p + 1], p + 2),
                        None => (&[][..], 1),
                    }
                }
            } else if special(rest[0]) {
                (&rest[0..1], 1)
            } else {
                let n = rest.iter().take_while(|&&c| alnum(c)).count();
                (&rest[..n], n)
            };
            if name.is_empty() && w > 0 {
                // bad syntax: eaten
            } else if name.is_empty() {
                out.push(b'$');
            } else {
                out.extend_from_slice(mapping(&String::from_utf8_lossy(name)).as_bytes());
            }
            j += w;
            i = j + 1;
        }
        j += 1;
    }
    if !touched {
        return s.to_string();
    }
    out.extend_from_slice(&b[i.min(b.len())..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's environment, as Helm's `ParseEnv(os.Environ())`.
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// What a plugin's command is run with: this environment, Helm's variables
/// (`vars`), and the plugin's name and directory.
pub fn env_for(plugin: &Plugin, vars: &[(String, String)]) -> BTreeMap<String, String> {
    let mut env = process_env();
    env.extend(vars.iter().cloned());
    env.insert("HELM_PLUGIN_NAME".into(), plugin.meta.name.clone());
    env.insert("HELM_PLUGIN_DIR".into(), plugin.dir.display().to_string());
    env
}

fn subprocess_only(plugin: &Plugin) -> Result<(), CliError> {
    match plugin.meta.runtime.as_str() {
        "subprocess" => Ok(()),
        other => Err(CliError::Other(format!(
            "plugin {:?}: runtime {other:?} is not supported by berth (it runs subprocess plugins)",
            plugin.meta.name
        ))),
    }
}

/// `exec.Command(main)`: a bare name is looked up on the PATH of `env`.
fn command(
    main: &str,
    args: &[String],
    env: &BTreeMap<String, String>,
) -> Result<std::process::Command, String> {
    let program: PathBuf = if main.contains('/') {
        PathBuf::from(main)
    } else {
        let path = env.get("PATH").cloned().unwrap_or_default();
        std::env::split_paths(&OsString::from(path))
            .map(|d| d.join(main))
            .find(|p| is_executable(p))
            .ok_or_else(|| format!("exec: {main:?}: executable file not found in $PATH"))?
    };
    let mut c = std::process::Command::new(program);
    c.args(args).env_clear().envs(env);
    Ok(c)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How a started command failed, in Go's words.
fn start_error(program: &str, e: &std::io::Error) -> String {
    format!("fork/exec {program}: {}", berth::values::go_errno(e))
}

/// Run a CLI plugin with `extra` arguments; its exit status is berth's.
pub fn run_cli(
    plugin: &Plugin,
    extra: &[String],
    vars: &[(String, String)],
    stdio: Option<&mut crate::Io>,
) -> Result<(), CliError> {
    subprocess_only(plugin)?;
    let env = env_for(plugin, vars);
    let (main, args) = prepare(&plugin.meta.subprocess.platform_command, true, extra, &env)
        .map_err(|e| CliError::Other(format!("failed to prepare plugin command: {e}")))?;
    let mut cmd = command(&main, &args, &env).map_err(CliError::Other)?;
    let status = match stdio {
        // Output captured for an embedding caller (tests).
        Some(io) => {
            let out = cmd
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| CliError::Other(start_error(&main, &e)))?;
            io.out.write_all(&out.stdout)?;
            io.err.write_all(&out.stderr)?;
            out.status
        }
        None => cmd
            .status()
            .map_err(|e| CliError::Other(start_error(&main, &e)))?,
    };
    exit_status(&plugin.meta.name, status)
}

fn exit_status(name: &str, status: std::process::ExitStatus) -> Result<(), CliError> {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        return Ok(());
    }
    // Go's ExitCode is -1 for a signal; a shell's 128+n is kinder.
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Err(CliError::Exit {
        code,
        message: format!("plugin {name:?} exited with error"),
    })
}

/// Helm's `InvokeHook`: the plugin's command for `event`, if it has one.
pub fn run_hook(plugin: &Plugin, event: &str, vars: &[(String, String)]) -> Result<(), CliError> {
    let Some(cmds) = plugin.meta.subprocess.platform_hooks.get(event) else {
        return Ok(());
    };
    if cmds.is_empty() || plugin.meta.runtime != "subprocess" {
        return Ok(());
    }
    let env = env_for(plugin, vars);
    let (main, args) = prepare(cmds, plugin.meta.subprocess.expand_hook_args, &[], &env)
        .map_err(CliError::Other)?;
    let status = command(&main, &args, &env)
        .map_err(CliError::Other)?
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| CliError::Other(start_error(&main, &e)))?;
    if !status.success() {
        return Err(CliError::Other(format!(
            "plugin {event} hook for {:?} exited with error",
            plugin.meta.name
        )));
    }
    Ok(())
}

/// A getter plugin's download of `href` (Helm's subprocess getter): the
/// protocol's command, run in the plugin's directory's terms with the TLS
/// files and the URL as its last four arguments; what it writes is the
/// file.
pub async fn get(
    plugin: &Plugin,
    href: &str,
    tls_files: [&str; 3],
    credentials: (&str, &str, bool),
    vars: &[(String, String)],
) -> Result<Vec<u8>, String> {
    if plugin.meta.runtime != "subprocess" {
        return Err(format!(
            "plugin {:?}: runtime {:?} is not supported by berth",
            plugin.meta.name, plugin.meta.runtime
        ));
    }
    let protocol = href.split_once("://").map_or("", |(s, _)| s);
    let Some(pc) = plugin
        .meta
        .subprocess
        .protocol_commands
        .iter()
        .find(|c| c.protocols.iter().any(|p| p == protocol))
    else {
        return Err(format!("no downloader found for protocol {protocol:?}"));
    };
    let mut env = env_for(plugin, vars);
    env.insert("HELM_PLUGIN_USERNAME".into(), credentials.0.into());
    env.insert("HELM_PLUGIN_PASSWORD".into(), credentials.1.into());
    env.insert(
        "HELM_PLUGIN_PASS_CREDENTIALS_ALL".into(),
        credentials.2.to_string(),
    );
    let (main, mut args) = prepare(&pc.platform_command, false, &[], &env)
        .map_err(|e| format!("failed to prepare commands for protocol {protocol:?}: {e}"))?;
    args.extend(tls_files.iter().map(|s| s.to_string()));
    args.push(href.to_string());
    // filepath.Join(pluginDir, command): the command is the plugin's own.
    let program = berth::chart::go_abs(Path::new(&format!("{}/{main}", plugin.dir.display())))
        .display()
        .to_string();
    let out = tokio::process::Command::new(&program)
        .args(&args)
        .env_clear()
        .envs(&env)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .map_err(|e| start_error(&program, &e))?;
    if !out.status.success() {
        return Err(format!("plugin {:?} exited with error", plugin.meta.name));
    }
    Ok(out.stdout)
}

/// Helm's `--post-renderer NAME --post-renderer-args ARG…`: a
/// postrenderer/v1 plugin and the arguments it is run with.
#[derive(Debug, Clone)]
pub struct PostRender {
    pub plugin: Plugin,
    pub args: Vec<String>,
}

impl PostRender {
    /// Helm's `NewPostRendererPlugin`: the installed postrenderer/v1 plugin
    /// of that name.
    pub fn find(name: &str, args: Vec<String>) -> Result<PostRender, CliError> {
        let plugin = find(Some("postrenderer/v1"), Some(name), &mut |m| {
            eprintln!("WARNING: {m}")
        })
        .map_err(CliError::Other)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            CliError::Other(format!(
                "plugin: {{Name:{name} Type:postrenderer/v1}} not found"
            ))
        })?;
        Ok(PostRender { plugin, args })
    }

    /// Helm's `postRendererPlugin.Run`: the manifests on the plugin's
    /// stdin, what it writes on its stdout; an error if it fails or writes
    /// nothing.
    pub fn run(&self, manifests: String) -> Result<String, String> {
        let name = &self.plugin.meta.name;
        let failed = |e: String| format!("failed to invoke post-renderer plugin {name:?}: {e}");
        if self.plugin.meta.runtime != "subprocess" {
            return Err(failed(format!(
                "runtime {:?} is not supported by berth",
                self.plugin.meta.runtime
            )));
        }
        let env = env_for(&self.plugin, &[]);
        let (main, args) = prepare(
            &self.plugin.meta.subprocess.platform_command,
            true,
            &self.args,
            &env,
        )
        .map_err(|e| failed(format!("failed to prepare plugin command: {e}")))?;
        let mut child = command(&main, &args, &env)
            .map_err(&failed)?
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| failed(start_error(&main, &e)))?;
        let mut stdin = child.stdin.take();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            if let Some(stdin) = stdin.as_mut() {
                // A plugin that stops reading early is its own business.
                let _ = stdin.write_all(manifests.as_bytes());
            }
        });
        let out = child
            .wait_with_output()
            .map_err(|e| failed(e.to_string()))?;
        let _ = writer.join();
        if !out.status.success() {
            // Helm keeps the plugin's stderr for its debug log; berth says
            // its last line, which is usually why.
            let said = String::from_utf8_lossy(&out.stderr);
            let said = said.trim().lines().last().unwrap_or_default().to_string();
            let mut e = format!("plugin {name:?} exited with error");
            if !said.is_empty() {
                e.push_str(&format!(": {said}"));
            }
            return Err(failed(e));
        }
        let text =
            String::from_utf8(out.stdout).map_err(|_| failed("its output is not UTF-8".into()))?;
        if text.trim().is_empty() {
            return Err(format!("post-renderer {name:?} produced empty output"));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(s: &str) -> String {
        go_expand(s, &|k: &str| match k {
            "HOME" => "/h".into(),
            "1" => "one".into(),
            _ => String::new(),
        })
    }

    /// Go's os.Expand, case by case.
    #[test]
    fn expands_as_go() {
        assert_eq!(expand("$HOME/bin"), "/h/bin");
        assert_eq!(expand("${HOME}x"), "/hx");
        assert_eq!(expand("a$"), "a$");
        assert_eq!(expand("$$"), "");
        assert_eq!(expand("${1}"), "one");
        assert_eq!(expand("$1x"), "onex");
        assert_eq!(expand("${}z"), "z");
        assert_eq!(expand("${HOME"), "HOME");
        assert_eq!(expand("$/x"), "$/x");
        assert_eq!(expand("$NOPE-y"), "-y");
        assert_eq!(expand("plain"), "plain");
        assert_eq!(expand("ünï$HOME"), "ünï/h");
    }

    #[test]
    fn legacy_metadata_becomes_helms_shape() {
        let m = parse_metadata(
            b"name: diff\nversion: 3.1.0\nusage: \"Preview\\t helm upgrade\"\ndescription: long\ncommand: $HELM_PLUGIN_DIR/bin/diff --x\nhooks:\n  install: echo hi\nignoreFlags: true\n",
        )
        .unwrap();
        assert_eq!(m.api_version, "legacy");
        assert_eq!(m.kind, "cli/v1");
        assert_eq!(
            m.config,
            Config::Cli {
                usage: String::new(),
                short_help: "Preview  helm upgrade".into(),
                long_help: "long".into(),
                ignore_flags: true
            }
        );
        assert_eq!(
            m.subprocess.platform_command[0].command,
            "$HELM_PLUGIN_DIR/bin/diff --x"
        );
        assert_eq!(
            m.subprocess.platform_hooks["install"][0].args,
            ["-c", "echo hi"]
        );
        assert!(!m.subprocess.expand_hook_args);

        let g =
            parse_metadata(b"name: s3\ndownloaders:\n- command: bin/get\n  protocols: [s3, gs]\n")
                .unwrap();
        assert_eq!(g.kind, "getter/v1");
        assert_eq!(
            g.config,
            Config::Getter {
                protocols: vec!["s3".into(), "gs".into()]
            }
        );
    }

    #[test]
    fn bad_metadata_is_refused_in_helms_words() {
        let err = |y: &str| parse_metadata(y.as_bytes()).unwrap_err();
        assert_eq!(
            err("name: a.b\n"),
            "invalid plugin name \"a.b\": must contain only a-z, A-Z, 0-9, _ and -"
        );
        assert_eq!(
            err("name: a\nversion: v1\n"),
            "invalid plugin version \"v1\": must be valid semver"
        );
        assert_eq!(
            err("name: a\ncommand: x\nplatformCommand: [{command: y}]\n"),
            "both platformCommand and command are set"
        );
        assert_eq!(
            err("name: a\ndownloaders: [{command: x}]\n"),
            "downloader 0 has no protocols"
        );
        assert_eq!(
            err("apiVersion: v2\nname: a\n"),
            "invalid plugin apiVersion: \"v2\""
        );
        assert_eq!(
            err("apiVersion: v1\nname: a\n"),
            "plugin `version` is required"
        );
        assert_eq!(
            err(
                "apiVersion: v1\nname: a\nversion: 1.0.0\ntype: cli/v1\nruntime: subprocess\nextra: 1\n"
            ),
            "yaml: unmarshal errors: field extra not found in type plugin.MetadataV1"
        );
        assert_eq!(
            err("apiVersion: v1\nname: a\nversion: 1.0.0\ntype: nope/v1\nruntime: subprocess\n"),
            "failed to convert MetadataV1 to Metadata: unknown plugin type \"nope/v1\""
        );
        assert_eq!(
            err("apiVersion: v1\nname: a\nversion: 1.0.0\ntype: getter/v1\nruntime: subprocess\n"),
            "config validation failed: getter has no protocols"
        );
        assert_eq!(
            err(
                "apiVersion: v1\nname: a\nversion: 1.0.0\ntype: cli/v1\nruntime: subprocess\nconfig: {shortHelp: x, bogus: 1}\n"
            ),
            "failed to convert MetadataV1 to Metadata: yaml: unmarshal errors: field bogus not found in type schema.ConfigCLIV1"
        );
        assert!(err("name: [a\n").starts_with("failed to peek plugin.yaml API version: "));
    }

    /// An exact OS and architecture match wins, then the OS alone, then
    /// the first with neither; an architecture without its OS never.
    #[test]
    fn platform_command_is_chosen_as_helm_chooses() {
        let (os, arch) = go_platform();
        let pc = |o: &str, a: &str, c: &str| PlatformCommand {
            os: o.into(),
            arch: a.into(),
            command: c.into(),
            args: vec![],
        };
        let env = BTreeMap::new();
        let main = |cmds: Vec<PlatformCommand>| prepare(&cmds, true, &[], &env).map(|(m, _)| m);
        assert_eq!(
            main(vec![
                pc("", "", "any"),
                pc(os, "", "os"),
                pc(os, arch, "exact")
            ])
            .unwrap(),
            "exact"
        );
        assert_eq!(
            main(vec![pc("", "", "any"), pc(os, "", "os")]).unwrap(),
            "os"
        );
        assert_eq!(
            main(vec![pc("", "", "any"), pc("plan9", "", "other")]).unwrap(),
            "any"
        );
        assert_eq!(
            main(vec![pc("", arch, "arch-only")]).unwrap_err(),
            "no plugin command is applicable"
        );
        assert_eq!(main(vec![]).unwrap_err(), "no plugin command is applicable");
        let mut env = BTreeMap::new();
        env.insert("D".to_string(), "/p".to_string());
        let (m, a) = prepare(
            &[PlatformCommand {
                command: "$D/run --flag=$D".into(),
                args: vec!["${D}/x".into()],
                ..Default::default()
            }],
            false,
            &["extra".to_string()],
            &env,
        )
        .unwrap();
        assert_eq!(
            (m.as_str(), a),
            (
                "/p/run",
                vec!["--flag=$D".to_string(), "${D}/x".into(), "extra".into()]
            )
        );
    }
}
