//! The object store: objects by key, the cluster-wide resourceVersion counter, the bounded
//! event history that resumed watches and paginated lists read, and the fan-out to live watches.
//!
//! Owns storage only. It does not validate, default, track managed fields or run controllers;
//! the write path (`apiserver`) does that and hands finished objects in.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::object;
use crate::resources::ResKey;

/// Where an object lives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    pub res: ResKey,
    /// Empty for cluster-scoped objects.
    pub ns: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(res: ResKey, ns: &str, name: &str) -> ObjKey {
        ObjKey {
            res,
            ns: ns.to_string(),
            name: name.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One committed change.
#[derive(Debug)]
pub struct StoreEvent {
    pub rv: u64,
    pub kind: EventType,
    pub key: ObjKey,
    /// The new object; for Deleted, the last state carrying the deletion RV.
    pub object: Arc<Value>,
    /// The state before the change (None for Added).
    pub old: Option<Arc<Value>>,
}

/// What a live watch receives.
#[derive(Debug, Clone)]
pub enum WatchMsg {
    Event(Arc<StoreEvent>),
    /// Ends the watch: cleanly, or by cutting the connection mid-chunk.
    Close {
        abort: bool,
    },
}

struct Watcher {
    id: u64,
    res: ResKey,
    ns: Option<String>,
    tx: mpsc::UnboundedSender<WatchMsg>,
}

/// A watch's view of the store.
pub struct Subscription {
    pub id: u64,
    pub rx: mpsc::UnboundedReceiver<WatchMsg>,
}

/// A resume point older than the history: `too old resource version: asked (oldest)`.
#[derive(Debug, Clone, Copy)]
pub struct TooOld {
    pub asked: u64,
    pub oldest: u64,
}

pub struct Store {
    objects: BTreeMap<ObjKey, Arc<Value>>,
    /// Indexes the controllers and the garbage collector ask on every pass, kept in step with
    /// `objects`: where each uid lives, and who names each uid as an owner.
    by_uid: HashMap<String, ObjKey>,
    dependents: HashMap<String, BTreeSet<ObjKey>>,
    /// Objects with a deletionTimestamp (waiting on finalizers).
    deleting: BTreeSet<ObjKey>,
    rv: u64,
    history: VecDeque<Arc<StoreEvent>>,
    /// Every event with an RV above this is still in `history`.
    floor: u64,
    history_max: usize,
    watchers: Vec<Watcher>,
    next_watcher: u64,
}

impl Store {
    pub fn new(history_max: usize) -> Store {
        Store {
            objects: BTreeMap::new(),
            by_uid: HashMap::new(),
            dependents: HashMap::new(),
            deleting: BTreeSet::new(),
            rv: 0,
            history: VecDeque::new(),
            floor: 0,
            history_max: history_max.max(1),
            watchers: Vec::new(),
            next_watcher: 1,
        }
    }

    /// Restores objects saved by `persist` with the RV counter they had.
    pub fn restore(&mut self, objects: Vec<(ObjKey, Value)>, rv: u64) {
        self.objects.clear();
        self.by_uid.clear();
        self.dependents.clear();
        self.deleting.clear();
        for (k, v) in objects {
            self.index(&k, &v);
            self.objects.insert(k, Arc::new(v));
        }
        self.rv = rv;
        self.floor = rv;
        self.history.clear();
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// The RV the next write will carry.
    pub fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    pub fn get(&self, key: &ObjKey) -> Option<&Arc<Value>> {
        self.objects.get(key)
    }

    /// Objects of one resource, optionally in one namespace, in key order.
    pub fn list(&self, res: &ResKey, ns: Option<&str>) -> Vec<Arc<Value>> {
        self.keys_of(res, ns).map(|(_, v)| v.clone()).collect()
    }

    fn keys_of<'a>(
        &'a self,
        res: &'a ResKey,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjKey, &'a Arc<Value>)> + 'a {
        let start = ObjKey::new(res.clone(), ns.unwrap_or(""), "");
        self.objects
            .range(start..)
            .take_while(move |(k, _)| k.res == *res && ns.is_none_or(|n| k.ns == n))
    }

    /// Every object of every resource (persistence, namespace clean-up, GC).
    pub fn all(&self) -> impl Iterator<Item = (&ObjKey, &Arc<Value>)> {
        self.objects.iter()
    }

    /// The object with this uid, if it exists.
    pub fn by_uid(&self, uid: &str) -> Option<(&ObjKey, &Arc<Value>)> {
        let key = self.by_uid.get(uid)?;
        self.objects.get(key).map(|v| (key, v))
    }

    /// Objects whose ownerReferences name `owner_uid`, in key order.
    pub fn dependents(&self, owner_uid: &str) -> impl Iterator<Item = (&ObjKey, &Arc<Value>)> {
        self.dependents
            .get(owner_uid)
            .into_iter()
            .flatten()
            .filter_map(|k| self.objects.get(k).map(|v| (k, v)))
    }

    /// Objects of `res` in `ns` whose controlling owner is `owner_uid`, in key order.
    pub fn controlled<'a>(
        &'a self,
        res: &'a ResKey,
        ns: &'a str,
        owner_uid: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        self.dependents(owner_uid)
            .filter(move |(k, v)| {
                k.res == *res && k.ns == ns && object::controller_uid(v) == Some(owner_uid)
            })
            .map(|(_, v)| v)
    }

    pub fn has_dependents(&self, owner_uid: &str) -> bool {
        self.dependents.contains_key(owner_uid)
    }

    /// Objects that name at least one owner, in key order: what the garbage
    /// collector looks at, without walking every object.
    pub fn owned(&self) -> impl Iterator<Item = (&ObjKey, &Arc<Value>)> {
        let keys: BTreeSet<&ObjKey> = self.dependents.values().flatten().collect();
        keys.into_iter()
            .filter_map(|k| self.objects.get(k).map(|v| (k, v)))
    }

    /// Objects with a deletionTimestamp, in key order.
    pub fn deleting(&self) -> impl Iterator<Item = (&ObjKey, &Arc<Value>)> {
        self.deleting
            .iter()
            .filter_map(|k| self.objects.get(k).map(|v| (k, v)))
    }

    fn index(&mut self, key: &ObjKey, v: &Value) {
        let uid = object::uid(v);
        if !uid.is_empty() {
            self.by_uid.insert(uid.to_string(), key.clone());
        }
        for owner in object::owner_uids(v) {
            self.dependents
                .entry(owner.to_string())
                .or_default()
                .insert(key.clone());
        }
        self.track_deleting(key, v);
    }

    /// Keep `deleting` in step with whether `v` is marked for deletion.
    fn track_deleting(&mut self, key: &ObjKey, v: &Value) {
        if object::is_deleting(v) {
            self.deleting.insert(key.clone());
        } else {
            self.deleting.remove(key);
        }
    }

    fn unindex(&mut self, key: &ObjKey, v: &Value) {
        let uid = object::uid(v);
        if self.by_uid.get(uid) == Some(key) {
            self.by_uid.remove(uid);
        }
        for owner in object::owner_uids(v) {
            if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(key);
                if set.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
        self.deleting.remove(key);
    }

    /// Stores `object` (already carrying `rv`) and publishes the event.
    pub fn put(&mut self, key: ObjKey, object: Value, rv: u64) -> Arc<StoreEvent> {
        let object = Arc::new(object);
        let old = self.objects.insert(key.clone(), object.clone());
        // Most writes keep the uid and the owners: then the indexes already hold them.
        let same_refs = old.as_ref().is_some_and(|o| {
            object::uid(o) == object::uid(&object)
                && object::owner_uids(o).eq(object::owner_uids(&object))
        });
        if !same_refs {
            if let Some(o) = &old {
                self.unindex(&key, o);
            }
            self.index(&key, &object);
        } else {
            self.track_deleting(&key, &object);
        }
        let kind = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.publish(StoreEvent {
            rv,
            kind,
            key,
            object,
            old,
        })
    }

    /// Removes an object; `last` is its final state carrying the deletion RV.
    pub fn remove(&mut self, key: &ObjKey, last: Value, rv: u64) -> Option<Arc<StoreEvent>> {
        let old = self.objects.remove(key)?;
        self.unindex(key, &old);
        Some(self.publish(StoreEvent {
            rv,
            kind: EventType::Deleted,
            key: key.clone(),
            object: Arc::new(last),
            old: Some(old),
        }))
    }

    fn publish(&mut self, ev: StoreEvent) -> Arc<StoreEvent> {
        let ev = Arc::new(ev);
        self.history.push_back(ev.clone());
        while self.history.len() > self.history_max {
            if let Some(old) = self.history.pop_front() {
                self.floor = old.rv;
            }
        }
        self.watchers.retain(|w| {
            if w.res != ev.key.res || w.ns.as_ref().is_some_and(|n| *n != ev.key.ns) {
                return !w.tx.is_closed();
            }
            w.tx.send(WatchMsg::Event(ev.clone())).is_ok()
        });
        ev
    }

    /// Events of `res` with an RV above `rv`, oldest first.
    pub fn events_since(&self, res: &ResKey, rv: u64) -> Result<Vec<Arc<StoreEvent>>, TooOld> {
        if rv < self.floor {
            return Err(TooOld {
                asked: rv,
                oldest: self.floor + 1,
            });
        }
        Ok(self
            .history
            .iter()
            .filter(|e| e.rv > rv && e.key.res == *res)
            .cloned()
            .collect())
    }

    /// The objects of `res` as they were at `rv`, rebuilt by undoing newer events.
    pub fn snapshot_at(
        &self,
        res: &ResKey,
        ns: Option<&str>,
        rv: u64,
    ) -> Result<Vec<Arc<Value>>, TooOld> {
        if rv >= self.rv {
            return Ok(self.list(res, ns));
        }
        let newer = self.events_since(res, rv)?;
        let mut state: BTreeMap<ObjKey, Arc<Value>> = self
            .keys_of(res, ns)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for ev in newer.iter().rev() {
            if ns.is_some_and(|n| ev.key.ns != n) {
                continue;
            }
            match &ev.old {
                Some(old) => {
                    state.insert(ev.key.clone(), old.clone());
                }
                None => {
                    state.remove(&ev.key);
                }
            }
        }
        Ok(state.into_values().collect())
    }

    /// Registers a live watch; events of `res` (in `ns`, if given) committed from now on reach it.
    pub fn subscribe(&mut self, res: ResKey, ns: Option<String>) -> Subscription {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.next_watcher;
        self.next_watcher += 1;
        self.watchers.push(Watcher { id, res, ns, tx });
        Subscription { id, rx }
    }

    pub fn unsubscribe(&mut self, id: u64) {
        self.watchers.retain(|w| w.id != id);
    }

    /// Ends live watches of `res` (all resources if None). Returns how many.
    pub fn drop_watches(&mut self, res: Option<&ResKey>, abort: bool) -> usize {
        let mut n = 0;
        self.watchers.retain(|w| {
            if res.is_some_and(|r| *r != w.res) {
                return true;
            }
            let _ = w.tx.send(WatchMsg::Close { abort });
            n += 1;
            false
        });
        n
    }

    pub fn watch_count(&self) -> usize {
        self.watchers.iter().filter(|w| !w.tx.is_closed()).count()
    }

    /// Removes every object and ends every watch; the RV counter keeps rising.
    pub fn reset(&mut self) {
        self.drop_watches(None, false);
        self.objects.clear();
        self.by_uid.clear();
        self.dependents.clear();
        self.deleting.clear();
        self.compact();
    }

    /// Forgets the event history: resuming from any earlier RV now gets 410 Expired.
    pub fn compact(&mut self) {
        self.history.clear();
        self.floor = self.rv;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(name: &str, uid: &str, owners: &[(&str, bool)]) -> (ObjKey, Value) {
        let refs: Vec<Value> = owners
            .iter()
            .map(|(u, c)| json!({"uid": u, "controller": c, "kind": "ReplicaSet", "name": "rs"}))
            .collect();
        (
            ObjKey::new(ResKey::new("", "pods"), "ns", name),
            json!({"metadata": {"name": name, "uid": uid, "ownerReferences": refs}}),
        )
    }

    fn names<'a>(it: impl Iterator<Item = (&'a ObjKey, &'a Arc<Value>)>) -> Vec<String> {
        it.map(|(k, _)| k.name.clone()).collect()
    }

    #[test]
    fn the_owner_indexes_follow_puts_removes_and_restores() {
        let mut s = Store::new(10);
        let (ka, a) = pod("a", "u-a", &[("rs1", true)]);
        let (kb, b) = pod("b", "u-b", &[("rs1", false), ("rs2", true)]);
        s.put(ka.clone(), a, 1);
        s.put(kb.clone(), b.clone(), 2);
        assert_eq!(names(s.dependents("rs1")), ["a", "b"]);
        let pods = ResKey::new("", "pods");
        let controlled: Vec<_> = s.controlled(&pods, "ns", "rs1").collect();
        assert_eq!(
            controlled.len(),
            1,
            "b is only owned by rs1, not controlled"
        );
        assert_eq!(s.by_uid("u-b").map(|(k, _)| k.name.as_str()), Some("b"));

        // A new version of a drops its owner: the index forgets it.
        let (_, a2) = pod("a", "u-a", &[]);
        s.put(ka.clone(), a2, 3);
        assert_eq!(names(s.dependents("rs1")), ["b"]);
        s.remove(&kb, b, 4);
        assert!(!s.has_dependents("rs1") && !s.has_dependents("rs2"));
        assert!(s.by_uid("u-b").is_none());

        let (kc, c) = pod("c", "u-c", &[("rs3", true)]);
        s.restore(vec![(kc, c)], 9);
        assert_eq!(names(s.dependents("rs3")), ["c"]);
        assert!(s.by_uid("u-a").is_none());
        s.reset();
        assert!(!s.has_dependents("rs3") && s.by_uid("u-c").is_none());
    }

    #[test]
    fn owned_and_deleting_objects_are_listed_in_key_order_as_they_change() {
        let mut s = Store::new(10);
        let deleting = |mut v: Value| {
            v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            v
        };
        let (kc, c) = pod("c", "u-c", &[("rs1", true)]);
        let (ka, a) = pod("a", "u-a", &[("rs2", true), ("rs1", false)]);
        let (kb, b) = pod("b", "u-b", &[]);
        s.put(kc.clone(), c.clone(), 1);
        s.put(ka.clone(), a.clone(), 2);
        s.put(kb.clone(), b.clone(), 3);
        assert_eq!(
            names(s.owned()),
            ["a", "c"],
            "b has no owner; a once though named twice"
        );
        assert!(names(s.deleting()).is_empty());

        // Marked for deletion with the same owners (the indexes' fast path),
        // and without owners.
        s.put(kc.clone(), deleting(c.clone()), 4);
        s.put(kb.clone(), deleting(b.clone()), 5);
        assert_eq!(names(s.deleting()), ["b", "c"]);
        // A finalizer-held object un-marked (a restore, say), then removed.
        s.put(kc.clone(), c.clone(), 6);
        assert_eq!(names(s.deleting()), ["b"]);
        s.remove(&kb, deleting(b), 7);
        assert!(names(s.deleting()).is_empty());
        s.remove(&ka, a, 8);
        assert_eq!(names(s.owned()), ["c"]);

        s.restore(
            vec![(kb.clone(), deleting(pod("b", "u-b", &[("rs9", true)]).1))],
            9,
        );
        assert_eq!(names(s.deleting()), ["b"]);
        assert_eq!(names(s.owned()), ["b"]);
        s.reset();
        assert!(names(s.deleting()).is_empty() && names(s.owned()).is_empty());
    }
}
