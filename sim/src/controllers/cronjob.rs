//! The CronJob controller (SIM_SPEC §5.6, a MAY): creates Jobs from `jobTemplate` at the
//! schedule's times on the simulator clock (UTC), records `lastScheduleTime`,
//! `lastSuccessfulTime` and active Jobs, and trims history to the configured limits.

use chrono::{Datelike, Timelike};
use serde_json::{Value, json};

use super::WorkKey;
use super::pod::condition_true;
use crate::apiserver::{Cluster, DeleteOpts, Propagation, WriteOpts};
use crate::clock::SimTime;
use crate::object;
use crate::store::ObjKey;

const MANAGER: &str = "kube-controller-manager";
const COMPONENT: &str = "cronjob-controller";

/// One parsed field of a cron expression: the allowed values.
fn field(spec: &str, min: u32, max: u32) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in spec.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().ok()?, b.parse().ok()?)
        } else {
            let v: u32 = range.parse().ok()?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return None;
        }
        out.extend((lo..=hi).step_by(step as usize));
    }
    Some(out)
}

/// A cron schedule: minute, hour, day of month, month, day of week.
pub struct Schedule {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: Vec<u32>,
    months: Vec<u32>,
    weekdays: Vec<u32>,
    any_day: bool,
    any_weekday: bool,
}

impl Schedule {
    pub fn parse(s: &str) -> Option<Schedule> {
        let expanded = match s.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        let [m, h, dom, mon, dow] = parts.as_slice() else {
            return None;
        };
        Some(Schedule {
            minutes: field(m, 0, 59)?,
            hours: field(h, 0, 23)?,
            days: field(dom, 1, 31)?,
            months: field(mon, 1, 12)?,
            weekdays: field(&dow.replace('7', "0"), 0, 6)?,
            any_day: *dom == "*" || *dom == "?",
            any_weekday: *dow == "*" || *dow == "?",
        })
    }

    fn matches(&self, t: chrono::DateTime<chrono::Utc>) -> bool {
        let day = self.days.contains(&t.day());
        let weekday = self.weekdays.contains(&t.weekday().num_days_from_sunday());
        // Like cron: when both day fields are restricted, either may match.
        let day_ok = match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (false, true) => day,
            (true, false) => weekday,
            (false, false) => day || weekday,
        };
        self.minutes.contains(&t.minute())
            && self.hours.contains(&t.hour())
            && self.months.contains(&t.month())
            && day_ok
    }

    /// The first scheduled minute strictly after `after` (searching at most about a year).
    pub fn next_after(&self, after: SimTime) -> Option<SimTime> {
        let mut t = SimTime((after.0 / 60_000 + 1) * 60_000);
        for _ in 0..(366 * 24 * 60) {
            if self.matches(t.to_chrono()) {
                return Some(t);
            }
            t = SimTime(t.0 + 60_000);
        }
        None
    }
}

pub fn reconcile(c: &mut Cluster, key: &ObjKey) {
    let Some(cj) = c.store.get(key).cloned() else {
        return;
    };
    let cj = (*cj).clone();
    if object::is_deleting(&cj) {
        return;
    }
    let ns = object::namespace(&cj).to_string();
    let now = c.now();
    let jobs_rt = c.rt("batch", "jobs");
    let uid = object::uid(&cj).to_string();
    let mut jobs: Vec<Value> = c
        .store
        .controlled(&jobs_rt.key(), &ns, &uid)
        .map(|j| (**j).clone())
        .collect();
    jobs.sort_by(|a, b| {
        object::str_at(a, &["metadata", "creationTimestamp"])
            .cmp(&object::str_at(b, &["metadata", "creationTimestamp"]))
    });
    let finished = |j: &Value| condition_true(j, "Complete") || condition_true(j, "Failed");
    let Some(schedule) = object::str_at(&cj, &["spec", "schedule"]).and_then(Schedule::parse)
    else {
        return;
    };
    let last = object::str_at(&cj, &["status", "lastScheduleTime"])
        .and_then(SimTime::parse)
        .or_else(|| {
            object::str_at(&cj, &["metadata", "creationTimestamp"]).and_then(SimTime::parse)
        })
        .unwrap_or(now);
    let suspended = object::bool_at(&cj, &["spec", "suspend"]).unwrap_or(false);
    let mut last_schedule =
        object::str_at(&cj, &["status", "lastScheduleTime"]).map(str::to_string);

    if let Some(mut due) = schedule.next_after(last) {
        // Like the real controller, only the most recent missed time runs.
        for _ in 0..10_000 {
            match schedule.next_after(due) {
                Some(n) if n <= now => due = n,
                _ => break,
            }
        }
        if now >= due && !suspended {
            let policy = object::str_at(&cj, &["spec", "concurrencyPolicy"]).unwrap_or("Allow");
            let running: Vec<&Value> = jobs.iter().filter(|j| !finished(j)).collect();
            let skip = policy == "Forbid" && !running.is_empty();
            if policy == "Replace" {
                for j in &running {
                    let opts = DeleteOpts {
                        propagation: Some(Propagation::Background),
                        ..Default::default()
                    };
                    let _ = c.delete(&jobs_rt, &ns, object::name(j), &opts);
                }
            }
            if !skip {
                let name = format!("{}-{}", object::name(&cj), due.0 / 60_000);
                let template = object::at(&cj, &["spec", "jobTemplate"])
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                let mut job = json!({
                    "apiVersion": "batch/v1", "kind": "Job",
                    "metadata": template.get("metadata").cloned().unwrap_or_else(|| json!({})),
                    "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
                });
                object::set(&mut job, &["metadata", "name"], json!(name));
                object::set(&mut job, &["metadata", "namespace"], json!(ns));
                object::obj_mut(&mut job, &["metadata", "annotations"]).insert(
                    "batch.kubernetes.io/cronjob-scheduled-timestamp".into(),
                    json!(due.rfc3339()),
                );
                object::set(
                    &mut job,
                    &["metadata", "ownerReferences"],
                    json!([object::controller_owner_ref(&cj)]),
                );
                if c.create(&jobs_rt, &ns, job, &WriteOpts::system(MANAGER))
                    .is_ok()
                {
                    c.record_event(
                        &cj,
                        "Normal",
                        "SuccessfulCreate",
                        &format!("Created job {name}"),
                        COMPONENT,
                    );
                }
            }
            last_schedule = Some(due.rfc3339());
        }
        let next = schedule
            .next_after(if now >= due { due } else { last })
            .unwrap_or(due);
        c.work.add_at(next.max(due), WorkKey::Obj(key.clone()));
    }

    // History limits.
    let keep_ok = object::i64_at(&cj, &["spec", "successfulJobsHistoryLimit"])
        .unwrap_or(3)
        .max(0) as usize;
    let keep_failed = object::i64_at(&cj, &["spec", "failedJobsHistoryLimit"])
        .unwrap_or(1)
        .max(0) as usize;
    for (cond, keep) in [("Complete", keep_ok), ("Failed", keep_failed)] {
        let done: Vec<&Value> = jobs.iter().filter(|j| condition_true(j, cond)).collect();
        if done.len() > keep {
            for j in &done[..done.len() - keep] {
                let opts = DeleteOpts {
                    propagation: Some(Propagation::Background),
                    ..Default::default()
                };
                let _ = c.delete(&jobs_rt, &ns, object::name(j), &opts);
            }
        }
    }

    let jobs: Vec<Value> = c
        .store
        .controlled(&jobs_rt.key(), &ns, &uid)
        .map(|j| (**j).clone())
        .collect();
    let active: Vec<Value> = jobs
        .iter()
        .filter(|j| !finished(j) && !object::is_deleting(j))
        .map(|j| json!({"kind": "Job", "namespace": ns, "name": object::name(j), "uid": object::uid(j), "apiVersion": "batch/v1", "resourceVersion": object::resource_version(j).unwrap_or("")}))
        .collect();
    let last_success = jobs
        .iter()
        .filter_map(|j| object::str_at(j, &["status", "completionTime"]))
        .max()
        .map(str::to_string)
        .or_else(|| object::str_at(&cj, &["status", "lastSuccessfulTime"]).map(str::to_string));
    let mut status = serde_json::Map::new();
    if !active.is_empty() {
        status.insert("active".into(), Value::Array(active));
    }
    if let Some(t) = last_schedule {
        status.insert("lastScheduleTime".into(), json!(t));
    }
    if let Some(t) = last_success {
        status.insert("lastSuccessfulTime".into(), json!(t));
    }
    let rt = c.rt("batch", "cronjobs");
    c.write_status(&rt, &cj, Value::Object(status), MANAGER);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let every5 = Schedule::parse("*/5 * * * *").unwrap();
        let t = SimTime::parse("2026-01-01T00:01:30Z").unwrap();
        assert_eq!(
            every5.next_after(t).unwrap().rfc3339(),
            "2026-01-01T00:05:00Z"
        );
        let daily = Schedule::parse("@daily").unwrap();
        assert_eq!(
            daily.next_after(t).unwrap().rfc3339(),
            "2026-01-02T00:00:00Z"
        );
        let weekdays = Schedule::parse("30 9 * * 1-5").unwrap();
        // 2026-01-03 is a Saturday.
        let sat = SimTime::parse("2026-01-03T10:00:00Z").unwrap();
        assert_eq!(
            weekdays.next_after(sat).unwrap().rfc3339(),
            "2026-01-05T09:30:00Z"
        );
        assert!(Schedule::parse("61 * * * *").is_none());
    }
}
