//! Chart hooks as Helm runs them: in weight order around the apply, created
//! (not part of the release), waited for, deleted by their policy; a failing
//! hook fails the operation before the release's objects change.

use crate::common::{Env, Out, path, says_pull_failed, write_chart};

fn chart() -> String {
    path(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/charts/hooked"))
}

fn position(text: &str, needle: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{text}"))
}

#[tokio::test]
async fn hooks_run_in_weight_order_around_the_apply_and_follow_their_policies() {
    let env = Env::start().await;
    let out = env.berth(&["install", "h", &chart(), "--wait"]).await.ok();
    let o = &out.stdout;
    let pre = position(o, "pre-install hooks");
    let hook_config = position(o, "ConfigMap/h-hook-config (default) created");
    let migrate = position(o, "Job/h-migrate (default) created");
    let migrated = position(o, "Job/h-migrate (default) ready");
    let app = position(o, "ConfigMap/h-app (default) created");
    let post = position(o, "post-install hooks");
    let notified = position(o, "Job/h-notify (default) ready");
    assert!(
        pre < hook_config && hook_config < migrate && migrate < migrated,
        "weight order:\n{o}"
    );
    assert!(
        migrated < app && app < post && post < notified,
        "pre hooks, apply, post hooks:\n{o}"
    );

    // hook-output-log-policy: the notify Job's pod output is shown.
    assert!(o.contains("    output:\n      h-notify-"), "{o}");
    assert!(o.contains("container notify started"), "{o}");

    // Hooks are not release objects; the default policy keeps a hook until
    // it runs again, hook-succeeded deletes it once all hooks succeeded.
    let manifest = env.berth(&["get", "manifest", "h"]).await.ok().stdout;
    assert!(
        !manifest.contains("h-migrate") && manifest.contains("h-app"),
        "{manifest}"
    );
    assert!(
        env.get("batch/v1", "Job", "default", "h-migrate")
            .await
            .is_some()
    );
    assert!(
        env.get("batch/v1", "Job", "default", "h-notify")
            .await
            .is_none()
    );

    // A failing pre-upgrade hook fails the upgrade before anything is applied.
    let failed = env
        .berth(&[
            "upgrade",
            "h",
            &chart(),
            "--set",
            "failHook=true",
            "--timeout",
            "20s",
        ])
        .await
        .failed();
    // In Helm's upgrade's words (pkg/action/upgrade.go).
    assert!(
        failed.stderr.contains("pre-upgrade hooks failed: "),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("Job/h-migrate"), "{}", failed.stderr);
    let app = env
        .get("v1", "ConfigMap", "default", "h-app")
        .await
        .unwrap();
    assert_eq!(
        app["data"]["revision"], "1",
        "the release's objects were not touched"
    );
    let history = env.berth(&["history", "h", "-o", "json"]).await.ok().json();
    assert_eq!(history[1]["status"], "failed");

    // The next upgrade deletes the failed hook Job before creating it again.
    env.berth(&["upgrade", "h", &chart(), "--wait"]).await.ok();
    let app = env
        .get("v1", "ConfigMap", "default", "h-app")
        .await
        .unwrap();
    assert_eq!(app["data"]["revision"], "3");

    // --no-hooks skips them; uninstall runs pre-delete.
    let quiet = env.berth(&["rollback", "h", "1", "--no-hooks"]).await.ok();
    assert!(
        !quiet.stdout.contains("post-rollback hooks"),
        "{}",
        quiet.stdout
    );
    let gone = env.berth(&["uninstall", "h"]).await.ok();
    assert!(gone.stdout.contains("pre-delete hooks"), "{}", gone.stdout);
    assert!(
        env.get("v1", "ConfigMap", "default", "h-goodbye")
            .await
            .is_some()
    );
    assert!(
        env.get("v1", "ConfigMap", "default", "h-app")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn test_runs_the_test_hooks_and_reports_a_failing_one() {
    let env = Env::start().await;
    env.berth(&["install", "h", &chart()]).await.ok();
    let out = env.berth(&["test", "h"]).await.ok();
    assert!(
        out.stdout
            .contains("Pod/h-test (default) ready (pod succeeded)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("TEST SUITE: 1 test(s) passed"),
        "{}",
        out.stdout
    );
    // Then the release as Helm's test prints it, with the test's last run,
    // which `status` shows from then on.
    let suite = |text: &str, phase: &str| {
        let at = text
            .find("TEST SUITE:     h-test\nLast Started:   ")
            .unwrap_or_else(|| panic!("no test suite in {text}"));
        let lines: Vec<&str> = text[at..].lines().take(4).collect();
        for (line, label) in [
            (lines[1], "Last Started:   "),
            (lines[2], "Last Completed: "),
        ] {
            let time = line.strip_prefix(label).unwrap_or_default();
            assert!(crate::common::is_ansic(time), "{text}");
        }
        assert_eq!(lines[3], format!("Phase:          {phase}"), "{text}");
    };
    assert!(
        out.stdout.contains(
            "STATUS: deployed\nREVISION: 1\nDESCRIPTION: Install complete\nTEST SUITE:     h-test\n"
        ),
        "{}",
        out.stdout
    );
    suite(&out.stdout, "Succeeded");
    suite(&env.berth(&["status", "h"]).await.ok().stdout, "Succeeded");
    let json = env.berth(&["status", "h", "-o", "json"]).await.ok().json();
    assert_eq!(json["tests"][0]["name"], "h-test");
    assert_eq!(json["tests"][0]["phase"], "Succeeded");

    // A new revision's tests have not run: no TEST SUITE line, as Helm's
    // (a release without test hooks says "TEST SUITE: None").
    let upgraded = env
        .berth(&["upgrade", "h", &chart(), "--set", "testFails=true"])
        .await
        .ok();
    assert!(
        !upgraded.stdout.contains("TEST SUITE"),
        "{}",
        upgraded.stdout
    );
    let failed = env.berth(&["test", "h"]).await.failed();
    assert!(
        failed.stderr.contains(
            "failed test: Pod/h-test (default) failed: PodFailed: container exited with code 3"
        ),
        "{}",
        failed.stderr
    );
    suite(&failed.stdout, "Failed");
    suite(&env.berth(&["status", "h"]).await.ok().stdout, "Failed");
    // A test records no revision.
    let history = env.berth(&["history", "h", "-o", "json"]).await.ok().json();
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[1]["status"], "deployed");

    // Helm's --filter: the failing test left out, or only it run.
    let skipped = env
        .berth(&["test", "h", "--filter", "!name=h-test"])
        .await
        .ok();
    assert!(
        skipped.stdout.contains("TEST SUITE: 0 test(s) passed"),
        "{}",
        skipped.stdout
    );
    let others = env
        .berth(&["test", "h", "--filter", "name=other,name=another"])
        .await
        .ok();
    assert!(others.stdout.contains("TEST SUITE: 0 test(s) passed"));
    env.berth(&["test", "h", "--filter", "name=h-test"])
        .await
        .failed();
    // --logs shows the test pod's output, which its policy does not ask for.
    env.berth(&["upgrade", "h", &chart(), "--reset-values"])
        .await
        .ok();
    let plain = env.berth(&["test", "h"]).await.ok();
    assert!(!plain.stdout.contains("output:"), "{}", plain.stdout);
    let logged = env.berth(&["test", "h", "--logs"]).await.ok();
    assert!(
        logged.stdout.contains("    output:\n      h-test: "),
        "{}",
        logged.stdout
    );
}

/// A hook that cannot run fails the operation once what stops it has
/// lasted its grace period, as a rollout does, where Helm (and berth)
/// waited out `--timeout`: a Job's pod that cannot pull its image, a Pod
/// hook that cannot, a Job whose pods are refused. Each says why.
#[tokio::test]
async fn a_hook_that_cannot_run_fails_with_why_before_the_timeout() {
    use berth_sim::Rule;
    let env = Env::start().await;
    let hook = |kind: &str, image: &str| {
        let pod = format!("restartPolicy: Never\ncontainers:\n- name: migrate\n  image: {image}\n");
        let (head, spec) = match kind {
            "Pod" => ("apiVersion: v1\nkind: Pod", indent(&pod, 2)),
            _ => (
                "apiVersion: batch/v1\nkind: Job",
                format!(
                    "  backoffLimit: 0\n  template:\n    spec:\n{}",
                    indent(&pod, 6)
                ),
            ),
        };
        format!(
            "{head}\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\nspec:\n{spec}"
        )
    };
    let unpullable = "registry.berth.invalid/migrate:1";
    for kind in ["Job", "Pod"] {
        let name = kind.to_lowercase();
        let out = failing_install(&env, &name, &hook(kind, unpullable)).await;
        let shown = format!("{kind}/migrate (ns-{name})");
        assert!(
            out.stderr
                .contains(&format!("failed pre-install: {shown}: pod migrate"))
                && says_pull_failed(&out.stderr, "migrate", unpullable),
            "{}",
            out.stderr
        );
        let failed = ["ImagePullBackOff", "ErrImagePull"]
            .iter()
            .any(|reason| out.stdout.contains(&format!("{shown} failed: {reason}: ")));
        assert!(
            failed
                && out
                    .stdout
                    .contains("\n    event: Failed: Failed to pull image"),
            "{}",
            out.stdout
        );
        // The pod's Events in the order they came, as kubectl lists
        // them, also within one second.
        let came = |line: &str| out.stdout.find(line).unwrap_or(usize::MAX);
        assert!(
            came("event: Failed: Failed to pull image")
                < came("event: Failed: Error: ErrImagePull"),
            "{}",
            out.stdout
        );
    }

    let denied = "pods \"migrate\" is forbidden: exceeded quota: compute";
    env.sim
        .faults()
        .add(Rule::refuse_controller_creates("pods", denied));
    let out = failing_install(&env, "refused", &hook("Job", "busybox:1")).await;
    assert!(
        out.stderr.contains(&format!(
            "FailedCreate: Release \"refused\" failed: failed pre-install: Job/migrate (ns-refused): Error creating: {denied}"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!(
            "Job/migrate (ns-refused): 0 active, 0 succeeded, 0 failed; FailedCreate: Error creating: {denied}"
        )),
        "the progress says why no pod comes: {}",
        out.stdout
    );
}

/// Install a chart of one hook into a namespace of its own, failing.
async fn failing_install(env: &Env, name: &str, hook: &str) -> Out {
    let chart = write_chart(env, name, &[("hook.yaml", hook)]);
    let ns = format!("ns-{name}");
    env.berth(&[
        "install",
        name,
        &chart,
        "-n",
        &ns,
        "--create-namespace",
        "--timeout",
        "10m",
    ])
    .await
    .failed()
}

fn indent(text: &str, by: usize) -> String {
    text.lines()
        .map(|l| format!("{}{l}\n", " ".repeat(by)))
        .collect()
}
