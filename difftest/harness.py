"""What every suite shares: the two sides and how their answers compare.

- `helm()`: real Helm v4 (helm-python-sdk) in helm_worker.py, a process of
  its own, so that a Go fatal error (a stack overflow) or a hang costs that
  process only; it is restarted.
- `berth()`: the driver (difftest/driver), berth's library called as berthd
  calls it, one JSON request a line.
- `berth_cli()`: the `berth` binary (target/debug/berth), for what only the
  CLI does (`-f`/`--set` merging, `--kube-version`, `--show-only`).

An answer is a dict: {"output": ...} or {"error": text}, or, when a side
failed to answer, {"panic"|"hang"|"crash": detail}. `classify` names how
two answers differ, or None.
"""
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Where cargo built them: CARGO_TARGET_DIR when set (relative to where
# scripts/difftest.sh runs cargo, the repository's root), else each
# workspace's own target/.
_TARGET = os.environ.get("CARGO_TARGET_DIR")
_TARGET = os.path.join(ROOT, _TARGET) if _TARGET else None
DRIVER = os.path.join(_TARGET or os.path.join(HERE, "driver", "target"), "debug", "berth-difftest-driver")
BERTH = os.path.join(_TARGET or os.path.join(ROOT, "target"), "debug", "berth")
NICE = ["nice", "-n", "19"]

# How long one answer may take before its process is killed and restarted.
BERTH_TIMEOUT = 15  # the driver cancels a render itself after 8 s
HELM_TIMEOUT = 30

# The Helm worker's scratch directory (run.py sets one in its output dir).
SCRATCH = None

RENDER_OPTS = {"name": "rel", "namespace": "ns", "revision": 1, "is_install": True}
FAILED = ("panic", "hang", "crash")


class Worker:
    """A process answering one JSON line per JSON request line."""

    def __init__(self, cmd, timeout):
        self.cmd = cmd
        self.timeout = timeout
        self.start()

    def start(self):
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.q = queue.Queue()
        threading.Thread(target=self._read, args=(self.p, self.q), daemon=True).start()

    @staticmethod
    def _read(p, q):
        for line in p.stdout:
            q.put(line)
        q.put(None)

    def call(self, req):
        try:
            self.p.stdin.write(json.dumps(req) + "\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            self.restart()
            return {"crash": "broken pipe"}
        try:
            line = self.q.get(timeout=self.timeout)
        except queue.Empty:
            self.restart()
            return {"hang": f"no answer in {self.timeout}s"}
        if line is None:
            rc = self.p.wait()
            self.restart()
            return {"crash": f"exited with {rc}"}
        return json.loads(line)

    def restart(self):
        self.close()
        self.start()

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


_workers = {}


def _worker(name, cmd, timeout):
    if name not in _workers:
        _workers[name] = Worker(cmd, timeout)
    return _workers[name]


def helm():
    cmd = NICE + [sys.executable, os.path.join(HERE, "helm_worker.py")] + ([SCRATCH] if SCRATCH else [])
    return _worker("helm", cmd, HELM_TIMEOUT)


def berth():
    return _worker("berth", NICE + [DRIVER], BERTH_TIMEOUT)


def berth_render(req):
    """The driver's render, its output as Helm's JSON shows it (json_lossy)."""
    b = berth().call(req)
    return {"output": json_lossy(b["output"])} if "output" in b else b


def close_workers():
    for w in _workers.values():
        w.close()
    _workers.clear()


def berth_cli(args, timeout=BERTH_TIMEOUT):
    """`berth ARGS`: {"output": stdout} or {"error": the message after
    'Error: '}. Bytes that are not UTF-8 as Helm's side shows them: U+FFFD
    in the output (JSON), berth-template's notation in errors (C strings)."""
    try:
        p = subprocess.run(NICE + [BERTH] + list(args), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"hang": f"no exit in {timeout}s"}
    stderr = go_text(p.stderr)
    if p.returncode < 0 or p.returncode >= 101 or "panicked" in stderr:
        return {"panic": stderr[-2000:] or f"exit {p.returncode}"}
    if p.returncode != 0:
        return {"error": stderr.strip().split("Error: ", 1)[-1]}
    return {"output": json_lossy(go_text(p.stdout))}


# ---------------------------------------------------------------- text

# berth-template carries the bytes of a Go string that are not UTF-8 as
# the characters U+10FF80..U+10FFFF (template/src/value.rs, gostr).
GO_BYTES = {0xDC80 + i: 0x10FF80 + i for i in range(128)}
LOSSY = {0x10FF80 + i: 0xFFFD for i in range(128)}


def go_text(data):
    """Bytes as berth-template holds a Go string: each byte that is not
    UTF-8 as a character of U+10FF80..U+10FFFF."""
    return data.decode("utf-8", "surrogateescape").translate(GO_BYTES)


def json_lossy(x):
    """x as it comes out of Go's encoding/json, which writes each byte that
    is not UTF-8 as U+FFFD: what Helm's answers (JSON from helm-c) show."""
    if isinstance(x, str):
        return x.translate(LOSSY)
    if isinstance(x, list):
        return [json_lossy(y) for y in x]
    if isinstance(x, dict):
        return {k: json_lossy(v) for k, v in x.items()}
    return x


# ---------------------------------------------------------------- files

def write_tree(d, files):
    """Writes {relative path: text or bytes} under a fresh directory d."""
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for path, data in files.items():
        full = os.path.join(d, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)


def json_safe(files):
    """A file tree for a JSON report: bytes as {"base64": ...}."""
    return {p: ({"base64": base64.b64encode(t).decode()} if isinstance(t, bytes) else t) for p, t in files.items()}


# ---------------------------------------------------------------- comparing

def same(a, b):
    """Equal values, numbers compared as Go holds them: JSON from Go writes
    float64 1 as `1` and 1.2345678901234567e19 as `12345678901234567000`,
    serde_json as `1.0` and `1.2345678901234567e+19`; so an int and a float
    are compared as float64s, two ints exactly (int64 from --set)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b if isinstance(a, int) and isinstance(b, int) else float(a) == float(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def classify(h, b, equal=None):
    """None when the answers agree, else what differs:
    helm-crash (Helm died or hung: nothing to compare), both-hang,
    panic / hang / crash (berth), errmsg (both failed, differently),
    helm-err-only, berth-err-only, output."""
    equal = equal or (lambda x, y: x == y)
    if any(k in h for k in FAILED):
        if "hang" in h and "hang" in b:
            return "both-hang"
        return "helm-crash"
    for k in FAILED:
        if k in b:
            return k
    if "error" in h and "error" in b:
        return None if h["error"] == b["error"] else "errmsg"
    if "error" in h:
        return "helm-err-only"
    if "error" in b:
        return "berth-err-only"
    return None if equal(h["output"], b["output"]) else "output"


def sources(text):
    """`berth template` output -> {template path: text} by its `# Source:` lines."""
    out, cur = {}, None
    for line in text.splitlines(keepends=True):
        if line.startswith("# Source: "):
            cur = line[len("# Source: "):].rstrip("\n")
            out[cur] = ""
        elif cur is not None and line != "---\n":
            out[cur] += line
    return out


def b64_lines(text, prefix):
    """Decodes each `PREFIX <base64>` line (the suites print values as
    base64 so that YAML cannot reflow them)."""
    return [base64.b64decode(line[len(prefix):].strip()).decode("utf-8", "replace")
            for line in text.splitlines() if line.startswith(prefix)]


def chart_reproducer(chart_files, user_values, extra_args=()):
    """A reproducer of a chart and user values: chart/ and values.json."""
    files = {"chart/" + p: t for p, t in chart_files.items()}
    args = ["template", "rel", "chart", "-n", "ns"]
    if user_values:
        files["values.json"] = json.dumps(user_values, indent=1, ensure_ascii=False) + "\n"
        args += ["-f", "values.json"]
    return {"files": files, "args": args + list(extra_args)}
