//! The event recorder: core/v1 Events that controllers and the kubelet emit (SIM_SPEC §5.7),
//! deduplicated on (object, reason, message) with a rising `count`.

use serde_json::{Value, json};

use crate::apiserver::{Cluster, WriteOpts};
use crate::object;

impl Cluster {
    /// Records an event about `involved`. `kind` is `Normal` or `Warning`.
    pub fn record_event(
        &mut self,
        involved: &Value,
        kind: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let rt = self.rt("", "events");
        let ns = match object::namespace(involved) {
            "" => "default".to_string(),
            ns => ns.to_string(),
        };
        if self.namespace_state(&ns) != Some(false) {
            return;
        }
        let now = self.now().rfc3339();
        let uid = object::uid(involved).to_string();
        let dedup = (uid.clone(), reason.to_string(), message.to_string());
        if let Some(name) = self.event_names.get(&dedup).cloned()
            && let Some(existing) = self.get_stored(&rt, &ns, &name)
        {
            let mut ev = (*existing).clone();
            let count = object::i64_at(&ev, &["count"]).unwrap_or(1) + 1;
            object::set(&mut ev, &["count"], json!(count));
            object::set(&mut ev, &["lastTimestamp"], json!(now));
            let _ = self.write_object(&rt, ev, component);
            return;
        }
        let name = format!("{}.{}", object::name(involved), self.random_hex(16));
        let mut involved_ref = json!({
            "kind": object::str_at(involved, &["kind"]).unwrap_or(""),
            "name": object::name(involved),
            "uid": uid,
            "apiVersion": object::str_at(involved, &["apiVersion"]).unwrap_or(""),
            "resourceVersion": object::resource_version(involved).unwrap_or(""),
        });
        if !object::namespace(involved).is_empty() {
            object::set(
                &mut involved_ref,
                &["namespace"],
                json!(object::namespace(involved)),
            );
        }
        let host = if component == "kubelet" {
            object::str_at(involved, &["spec", "nodeName"]).map(str::to_string)
        } else {
            None
        };
        let mut source = json!({"component": component});
        if let Some(h) = &host {
            object::set(&mut source, &["host"], json!(h));
        }
        let body = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved_ref,
            "reason": reason,
            "message": message,
            "type": kind,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "eventTime": null,
            "reportingComponent": component,
            "reportingInstance": host.unwrap_or_default(),
        });
        if self
            .create(&rt, &ns, body, &WriteOpts::system(component))
            .is_ok()
        {
            self.event_names.insert(dedup, name);
        }
    }
}
