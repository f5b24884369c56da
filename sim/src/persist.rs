//! Saving and restoring the cluster state to a file (`--state-file`), so a demo cluster
//! survives a restart. Only objects and the RV counter are kept; controllers rebuild the rest.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apiserver::Cluster;
use crate::resources::ResKey;
use crate::store::ObjKey;

#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    resource_version: u64,
    objects: Vec<SavedObject>,
}

#[derive(Serialize, Deserialize)]
struct SavedObject {
    group: String,
    resource: String,
    namespace: String,
    object: Value,
}

const FORMAT_VERSION: u32 = 1;

/// Writes the state atomically (temporary file, then rename).
pub fn save(c: &Cluster, path: &Path) -> std::io::Result<()> {
    let saved = Saved {
        version: FORMAT_VERSION,
        resource_version: c.store.current_rv(),
        objects: c
            .store
            .all()
            .map(|(k, v)| SavedObject {
                group: k.res.group.clone(),
                resource: k.res.plural.clone(),
                namespace: k.ns.clone(),
                object: (**v).clone(),
            })
            .collect(),
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(&saved)?)?;
    std::fs::rename(tmp, path)
}

/// Loads a saved state into an empty cluster. Returns false if the file does not exist.
pub fn load(c: &mut Cluster, path: &Path) -> Result<bool, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let saved: Saved =
        serde_json::from_slice(&bytes).map_err(|e| format!("parsing {}: {e}", path.display()))?;
    if saved.version != FORMAT_VERSION {
        return Err(format!(
            "{} has state format {}, this simulator reads {FORMAT_VERSION}",
            path.display(),
            saved.version
        ));
    }
    let objects = saved
        .objects
        .into_iter()
        .map(|o| {
            let name = crate::object::name(&o.object).to_string();
            (
                ObjKey::new(ResKey::new(&o.group, &o.resource), &o.namespace, &name),
                o.object,
            )
        })
        .collect();
    c.store.restore(objects, saved.resource_version);
    crate::controllers::misc::refresh_custom_types(c);
    c.requeue_all();
    Ok(true)
}
