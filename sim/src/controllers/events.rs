//! The event recorder: core/v1 Events that controllers and the kubelet emit (SIM_SPEC §5.7),
//! deduplicated on (object, reason, message) with a rising `count`.

use serde_json::{Value, json};

use crate::apiserver::{Cluster, WriteOpts};
use crate::clock::SimTime;
use crate::object;

/// Events live this long after they were last seen (the API server's `--event-ttl`).
const EVENT_TTL: std::time::Duration = std::time::Duration::from_secs(3600);
/// Expired events are swept every this many new events.
const EXPIRY_SWEEP_EVERY: u64 = 256;

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
            self.events_created += 1;
            if self.events_created.is_multiple_of(EXPIRY_SWEEP_EVERY) {
                self.expire_events();
            }
        }
    }

    /// Drops events not seen for an hour, as the API server's event TTL does.
    fn expire_events(&mut self) {
        let rt = self.rt("", "events");
        let cutoff = SimTime(self.now().0 - EVENT_TTL.as_millis() as i64);
        let old: Vec<Value> = self
            .store
            .list(&rt.key(), None)
            .iter()
            .filter(|e| {
                object::str_at(e, &["lastTimestamp"])
                    .and_then(SimTime::parse)
                    .is_some_and(|t| t < cutoff)
            })
            .map(|e| (**e).clone())
            .collect();
        for e in old {
            self.event_names.retain(|_, n| n != object::name(&e));
            self.store_remove(&rt, e);
        }
    }
}
