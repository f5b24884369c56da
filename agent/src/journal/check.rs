//! `berthd journal check`: verify a journal's invariants, offline.
//!
//! What it checks, per release: the head decodes under its own key; the
//! kept revisions are contiguous from the oldest kept one up to `latest`
//! (`--history-max` drops the oldest); at most one revision is deployed and
//! it is the one the head names; a pending revision has the lock and the
//! lock has its pending revision; every blob a revision references is
//! present, inflates (a chart file: reads; a blob stored as pieces: every piece and node is
//! present and the whole reassembles), and hashes to its key; the events of
//! each revision, loose or packed, decode, belong to it, and are numbered
//! 1..n. Records that belong to no
//! release are reported too. The format version was checked when the
//! journal opened. Every problem is one line naming the record.

use std::collections::{BTreeMap, HashMap};

use berth::proto;
use prost::Message;

use super::{Journal, ReleaseHead, Result, RevisionRecord, decode, digest, head_key};

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per problem; empty when the journal is sound.
    pub problems: Vec<String>,
    pub releases: usize,
    /// Releases whose lock is held (an operation berthd will resolve as
    /// interrupted when it starts).
    pub locked: usize,
    pub revisions: usize,
    pub blobs: usize,
    pub events: usize,
    /// The format version the journal is marked with.
    pub format_version: u32,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// `ok: format version 1; 2 releases (0 locked), 5 revisions, …`.
    pub fn summary(&self) -> String {
        format!(
            "format version {}; {} release(s) ({} locked), {} revision(s), {} blob(s), {} event(s)",
            self.format_version,
            self.releases,
            self.locked,
            self.revisions,
            self.blobs,
            self.events
        )
    }
}

/// `ns/name/<rev:020>` → ("ns/name", rev).
fn split_revision_key(key: &str) -> Option<(&str, u64)> {
    let (release, rev) = key.rsplit_once('/')?;
    Some((release, rev.parse().ok()?))
}

/// `ns/name/<rev:020>/<seq:020>` → ("ns/name", rev, seq).
fn split_event_key(key: &str) -> Option<(&str, u64, u64)> {
    let (rest, seq) = key.rsplit_once('/')?;
    let (release, rev) = split_revision_key(rest)?;
    Some((release, rev, seq.parse().ok()?))
}

/// Check a journal; storage errors are errors, problems with its content
/// are in the report.
pub fn check(journal: &Journal) -> Result<Report> {
    let mut report = Report {
        format_version: journal.format_version()?,
        ..Report::default()
    };
    let problems = &mut report.problems;

    let mut heads: BTreeMap<String, ReleaseHead> = BTreeMap::new();
    for kv in journal.releases.iter() {
        let (k, v) = kv?;
        let key = String::from_utf8_lossy(&k).into_owned();
        match decode::<ReleaseHead>(&k, &v) {
            Ok(head) if head_key(&head.namespace, &head.name) != k.as_ref() => {
                problems.push(format!(
                    "release {key}: its record names {}/{}",
                    head.namespace, head.name
                ))
            }
            Ok(head) => {
                heads.insert(key, head);
            }
            Err(e) => problems.push(format!("release {key}: {e}")),
        }
    }

    let mut revisions: BTreeMap<String, Vec<RevisionRecord>> = BTreeMap::new();
    for kv in journal.revisions.iter() {
        let (k, v) = kv?;
        let key = String::from_utf8_lossy(&k).into_owned();
        let Some((release, rev)) = split_revision_key(&key) else {
            problems.push(format!(
                "revision {key}: the key is not namespace/name/revision"
            ));
            continue;
        };
        match decode::<RevisionRecord>(&k, &v) {
            Ok(r) if r.revision != rev => problems.push(format!(
                "revision {key}: its record says revision {}",
                r.revision
            )),
            Ok(r) => revisions.entry(release.to_string()).or_default().push(r),
            Err(e) => problems.push(format!("revision {key}: {e}")),
        }
        report.revisions += 1;
    }

    // Events per (release, revision): their sequence numbers.
    let mut events: BTreeMap<(String, u64), Vec<u64>> = BTreeMap::new();
    for kv in journal.events.iter() {
        let (k, v) = kv?;
        let key = String::from_utf8_lossy(&k).into_owned();
        if let Some(rest) = key.strip_suffix(&format!("/{}", super::packed::SUFFIX)) {
            let parsed = split_revision_key(rest)
                .and_then(|(release, rev)| Some((release, release.split_once('/')?, rev)));
            let Some((release, (ns, name), rev)) = parsed else {
                problems.push(format!(
                    "event {key}: the key is not namespace/name/revision/packed"
                ));
                continue;
            };
            match journal.packed_events(ns, name, rev) {
                Err(e) => problems.push(format!("event {key}: does not decode: {e}")),
                Ok(evs) => {
                    let evs = evs.unwrap_or_default();
                    report.events += evs.len();
                    events
                        .entry((release.to_string(), rev))
                        .or_default()
                        .extend(evs.iter().map(|e| e.seq));
                }
            }
            continue;
        }
        report.events += 1;
        let Some((release, rev, seq)) = split_event_key(&key) else {
            problems.push(format!(
                "event {key}: the key is not namespace/name/revision/seq"
            ));
            continue;
        };
        match proto::Event::decode(v.as_ref()) {
            Err(e) => problems.push(format!("event {key}: does not decode: {e}")),
            Ok(ev) => {
                if ev.revision != rev
                    || ev.seq != seq
                    || format!("{}/{}", ev.namespace, ev.release) != release
                {
                    problems.push(format!(
                        "event {key}: it says {}/{} revision {} seq {}",
                        ev.namespace, ev.release, ev.revision, ev.seq
                    ));
                }
                events
                    .entry((release.to_string(), rev))
                    .or_default()
                    .push(seq);
            }
        }
    }

    // The events of revisions not packed yet, one file each.
    for path in journal.spool.damaged()? {
        problems.push(format!(
            "events file {}: set aside as damaged (no whole record in it): inspect it, then remove it",
            path.display()
        ));
    }
    for (path, contents) in journal.spool.list()? {
        let Some(first) = contents.events.first() else {
            if contents.len > 0 {
                problems.push(format!(
                    "events file {}: holds no whole record (berthd sets it aside when it starts)",
                    path.display()
                ));
            }
            continue;
        };
        let release = format!("{}/{}", first.namespace, first.release);
        let rev = first.revision;
        report.events += contents.events.len();
        for ev in &contents.events {
            if ev.revision != rev || format!("{}/{}", ev.namespace, ev.release) != release {
                problems.push(format!(
                    "events file {}: it holds events of {release} revision {rev} and of {}/{} revision {}",
                    path.display(),
                    ev.namespace,
                    ev.release,
                    ev.revision
                ));
            }
            events
                .entry((release.clone(), rev))
                .or_default()
                .push(ev.seq);
        }
    }

    report.releases = heads.len();
    let mut blobs_checked: HashMap<String, Option<String>> = HashMap::new();
    for (key, head) in &heads {
        if head.lock.is_some() {
            report.locked += 1;
        }
        let revs = revisions.remove(key).unwrap_or_default();
        check_release(key, head, &revs, problems);
        for r in &revs {
            for (what, d, text) in referenced_blobs(r) {
                let found = blobs_checked
                    .entry(d.to_string())
                    .or_insert_with(|| check_blob(journal, d, text).err());
                if let Some(why) = found {
                    problems.push(format!(
                        "revision {key}/{}: {what} blob {d}: {why}",
                        r.revision
                    ));
                }
            }
        }
    }
    for (release, revs) in revisions {
        for r in revs {
            problems.push(format!(
                "revision {release}/{}: belongs to no release (no release record)",
                r.revision
            ));
        }
    }

    for ((release, rev), mut seqs) in events {
        seqs.sort_unstable();
        // A crash between a revision's packing and the removal of its
        // events file leaves them in both, which berthd tidies when it
        // starts; readers take each once.
        seqs.dedup();
        let where_ = format!("events of {release} revision {rev}");
        let known = heads.contains_key(&release)
            && journal
                .revisions
                .contains_key(format!("{release}/{rev:020}").as_bytes())?;
        if !known {
            problems.push(format!("{where_}: no such revision"));
            continue;
        }
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        if seqs != expected {
            problems.push(format!(
                "{where_}: sequence numbers are not 1..{} ({})",
                seqs.len(),
                gaps(&seqs)
            ));
        }
    }
    report.blobs = journal.blobs.len() + journal.charts.list()?.len();
    Ok(report)
}

/// The invariants of one release's head and revisions.
fn check_release(
    key: &str,
    head: &ReleaseHead,
    revs: &[RevisionRecord],
    problems: &mut Vec<String>,
) {
    let here = |what: String| format!("release {key}: {what}");
    let (Some(first), Some(last)) = (revs.first(), revs.last()) else {
        problems.push(here("has no revisions".into()));
        return;
    };
    if last.revision != head.latest {
        problems.push(here(format!(
            "latest is {} but the newest revision is {}",
            head.latest, last.revision
        )));
    }
    let missing = (first.revision..=last.revision).count() - revs.len();
    if missing > 0 {
        let have: Vec<u64> = revs.iter().map(|r| r.revision).collect();
        problems.push(here(format!(
            "revisions are not contiguous from {} to {} ({})",
            first.revision,
            last.revision,
            gaps(&have)
        )));
    }
    let deployed: Vec<u64> = revs
        .iter()
        .filter(|r| r.status == super::Status::Deployed)
        .map(|r| r.revision)
        .collect();
    if deployed.len() > 1 {
        problems.push(here(format!(
            "more than one revision is deployed: {deployed:?}"
        )));
    }
    if let Some(&d) = deployed.first()
        && head.deployed != Some(d)
    {
        problems.push(here(format!(
            "revision {d} is deployed but the release names {}",
            head.deployed
                .map(|x| format!("revision {x}"))
                .unwrap_or_else(|| "none".into())
        )));
    }
    if let Some(d) = head.deployed
        && !revs.iter().any(|r| r.revision == d)
    {
        problems.push(here(format!("its deployed revision {d} does not exist")));
    }
    for r in revs.iter().filter(|r| r.status.is_pending()) {
        if head.lock.as_ref().is_none_or(|l| l.revision != r.revision) {
            problems.push(here(format!(
                "revision {} is pending ({:?}) but no lock holds it",
                r.revision, r.status
            )));
        }
    }
    if let Some(lock) = &head.lock {
        match revs.iter().find(|r| r.revision == lock.revision) {
            None => problems.push(here(format!(
                "its lock holds revision {}, which does not exist",
                lock.revision
            ))),
            Some(r) if !r.status.is_pending() => problems.push(here(format!(
                "its lock holds revision {}, which is not pending ({:?})",
                r.revision, r.status
            ))),
            Some(_) if lock.revision != head.latest => problems.push(here(format!(
                "its lock holds revision {}, not the latest ({})",
                lock.revision, head.latest
            ))),
            Some(_) => {}
        }
    }
}

/// The blobs a revision references: (what, digest, must be UTF-8 text).
fn referenced_blobs(r: &RevisionRecord) -> [(&'static str, &str, bool); 6] {
    let [chart, manifest, hooks, values, computed, notes] = r.blobs();
    [
        ("chart", chart, false),
        ("manifest", manifest, true),
        ("hooks", hooks, true),
        ("values", values, true),
        ("computed values", computed, true),
        ("notes", notes, true),
    ]
}

/// A blob is present, inflates, and its content hashes to its key.
fn check_blob(journal: &Journal, d: &str, text: bool) -> std::result::Result<(), String> {
    let bytes = journal
        .blob(d)
        .map_err(|e| format!("does not read: {e}"))?
        .ok_or_else(|| match text {
            true => "missing".to_string(),
            // A big chart would be a file.
            false => format!(
                "missing (not in sled, and no file {})",
                journal.charts.dir().join(d).display()
            ),
        })?;
    let actual = digest(&bytes);
    if actual != d {
        return Err(format!("its content hashes to {actual}"));
    }
    if text && std::str::from_utf8(&bytes).is_err() {
        return Err("is not UTF-8 text".into());
    }
    Ok(())
}

/// `1-3, 5, 9-10` for a sorted list.
fn gaps(sorted: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    format!("has {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::tests_support::{begin_with_chart, big_chart};
    use super::super::{
        Begin, ChartRef, Finish, Lock, OpKind, Status, deflate, encode, revision_key,
    };
    use super::*;

    fn event(rev: u64, seq: u64) -> proto::Event {
        proto::Event {
            release: "a".into(),
            namespace: "ns".into(),
            revision: rev,
            seq,
            ..Default::default()
        }
    }

    fn begin(rev: u64, op: OpKind) -> Begin {
        let record = RevisionRecord {
            revision: rev,
            status: op.pending_status(),
            operation: op,
            chart: ChartRef {
                digest: digest(b"chart"),
                ..Default::default()
            },
            description: String::new(),
            by: "admin".into(),
            client_addr: String::new(),
            client_version: String::new(),
            created_ms: 1,
            updated_ms: 1,
            manifest_blob: digest(b"m"),
            hooks_blob: digest(b"[]"),
            values_blob: digest(b"{}"),
            computed_values_blob: digest(b"{}"),
            notes_blob: digest(b""),
            rollback_of: None,
            labels: Default::default(),
            test_runs: Vec::new(),
        };
        Begin {
            record,
            chart: None,
            blobs: [&b"chart"[..], b"m", b"[]", b"{}", b""]
                .iter()
                .map(|b| b.to_vec())
                .collect(),
            lock: Lock {
                revision: rev,
                operation: op,
                since_ms: 1,
                identity: "admin".into(),
                previous_status: None,
            },
            events: vec![event(rev, 1), event(rev, 2)],
        }
    }

    fn deployed() -> Finish {
        Finish {
            status: Status::Deployed,
            description: "done".into(),
            deploys: true,
            undeploys: false,
            supersedes: None,
        }
    }

    /// ns/a: revision 1 superseded, 2 deployed, 3 pending under the lock.
    async fn sound() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        j.begin("ns", "a", begin(1, OpKind::Install)).await.unwrap();
        j.finish("ns", "a", 1, deployed()).await.unwrap();
        j.begin("ns", "a", begin(2, OpKind::Upgrade)).await.unwrap();
        j.finish("ns", "a", 2, deployed()).await.unwrap();
        j.begin("ns", "a", begin(3, OpKind::Upgrade)).await.unwrap();
        (dir, j)
    }

    fn problems(j: &Journal) -> String {
        check(j).unwrap().problems.join("\n")
    }

    #[tokio::test]
    async fn a_sound_journal_passes_with_counts() {
        let (_dir, j) = sound().await;
        let r = check(&j).unwrap();
        assert!(r.is_ok(), "{:?}", r.problems);
        assert_eq!(
            r.summary(),
            "format version 5; 1 release(s) (1 locked), 3 revision(s), 5 blob(s), 6 event(s)"
        );
    }

    #[tokio::test]
    async fn history_pruned_from_the_oldest_is_fine_a_gap_is_not() {
        let (_dir, j) = sound().await;
        j.revisions.remove(revision_key("ns", "a", 1)).unwrap();
        j.events.remove(event_key_of(1, 1)).unwrap();
        j.events.remove(event_key_of(1, 2)).unwrap();
        assert_eq!(problems(&j), "");
        j.revisions.remove(revision_key("ns", "a", 2)).unwrap();
        let p = problems(&j);
        assert!(
            p.contains("release ns/a: its deployed revision 2 does not exist"),
            "{p}"
        );
        assert!(
            p.contains("events of ns/a revision 2: no such revision"),
            "{p}"
        );
    }

    fn event_key_of(rev: u64, seq: u64) -> Vec<u8> {
        super::super::event_key("ns", "a", rev, seq)
    }

    /// A manifest stored as pieces is checked piece by piece: one missing
    /// piece names the revision's manifest blob.
    #[tokio::test]
    async fn a_missing_piece_of_a_large_manifest_is_named() {
        let (_dir, j) = sound().await;
        j.finish("ns", "a", 3, deployed()).await.unwrap();
        let big: String = (0..300)
            .map(|i| {
                format!(
                    "---\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  k: \"{}\"\n",
                    "v".repeat(200)
                )
            })
            .collect();
        let mut b = begin(4, OpKind::Upgrade);
        b.record.manifest_blob = digest(big.as_bytes());
        b.blobs.push(big.clone().into_bytes());
        j.begin("ns", "a", b).await.unwrap();
        assert_eq!(problems(&j), "");
        assert_eq!(j.text_blob(&digest(big.as_bytes())).unwrap(), big);

        let piece = j
            .blobs
            .iter()
            .keys()
            .map(|k| String::from_utf8(k.unwrap().to_vec()).unwrap())
            .find(|k| {
                j.blob(k).unwrap().is_some_and(|b| {
                    b.starts_with(b"---\nkind: ConfigMap\nmetadata:\n  name: c17\n")
                })
            })
            .expect("the pieces are blobs of their own");
        j.blobs.remove(piece.as_bytes()).unwrap();
        let p = problems(&j);
        assert!(p.contains("revision ns/a/4: manifest blob"), "{p}");
    }

    #[tokio::test]
    async fn a_missing_or_changed_chart_file_is_named() {
        let (_dir, j) = sound().await;
        j.finish("ns", "a", 3, deployed()).await.unwrap();
        let chart = big_chart(1);
        let file = j.charts.dir().join(digest(&chart));
        j.begin("ns", "a", begin_with_chart(4, OpKind::Upgrade, &chart))
            .await
            .unwrap();
        assert_eq!(problems(&j), "");
        std::fs::write(&file, b"other").unwrap();
        let p = problems(&j);
        assert!(p.contains("revision ns/a/4: chart blob"), "{p}");
        assert!(p.contains("its content hashes to"), "{p}");
        std::fs::remove_file(&file).unwrap();
        let p = problems(&j);
        assert!(p.contains("revision ns/a/4: chart blob"), "{p}");
        assert!(p.contains("missing (not in sled, and no file "), "{p}");
        assert!(p.contains(&file.display().to_string()), "{p}");
    }

    #[tokio::test]
    async fn each_broken_invariant_is_named() {
        type Break = fn(&Journal);
        let cases: [(Break, &str); 9] = [
            (
                |j| {
                    j.revisions.remove(revision_key("ns", "a", 2)).unwrap();
                    j.events.remove(event_key_of(2, 1)).unwrap();
                    j.events.remove(event_key_of(2, 2)).unwrap();
                },
                "release ns/a: revisions are not contiguous from 1 to 3 (has 1, 3)",
            ),
            (
                |j| {
                    let mut r = j.revision("ns", "a", 1).unwrap().unwrap();
                    r.status = Status::Deployed;
                    j.revisions
                        .insert(revision_key("ns", "a", 1), encode(&r))
                        .unwrap();
                },
                "release ns/a: more than one revision is deployed: [1, 2]",
            ),
            (
                |j| {
                    let mut h = j.head("ns", "a").unwrap().unwrap();
                    h.lock = None;
                    j.releases.insert(head_key("ns", "a"), encode(&h)).unwrap();
                },
                "release ns/a: revision 3 is pending (PendingUpgrade) but no lock holds it",
            ),
            (
                |j| {
                    let mut r = j.revision("ns", "a", 3).unwrap().unwrap();
                    r.status = Status::Failed;
                    j.revisions
                        .insert(revision_key("ns", "a", 3), encode(&r))
                        .unwrap();
                },
                "release ns/a: its lock holds revision 3, which is not pending (Failed)",
            ),
            (
                |j| {
                    j.blobs.remove(digest(b"m").as_bytes()).unwrap();
                },
                "revision ns/a/1: manifest blob",
            ),
            (
                |j| {
                    j.blobs
                        .insert(digest(b"chart").as_bytes(), deflate(b"other"))
                        .unwrap();
                },
                "chart blob",
            ),
            (
                |j| {
                    j.events.remove(event_key_of(2, 1)).unwrap();
                },
                "events of ns/a revision 2: sequence numbers are not 1..1 (has 2)",
            ),
            (
                |j| {
                    j.events
                        .insert(event_key_of(2, 3), b"\xff\xff".to_vec())
                        .unwrap();
                },
                "event ns/a/00000000000000000002/00000000000000000003: does not decode",
            ),
            (
                |j| {
                    std::fs::create_dir_all(j.spool.dir()).unwrap();
                    std::fs::write(j.spool.dir().join("0123.damaged"), b"\xff").unwrap();
                },
                "0123.damaged: set aside as damaged",
            ),
        ];
        for (broken, expected) in cases {
            let (_dir, j) = sound().await;
            broken(&j);
            let p = problems(&j);
            assert!(p.contains(expected), "expected {expected:?} in:\n{p}");
        }
    }
}
