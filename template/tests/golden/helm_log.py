"""What Helm logs on stderr during a call, as the helm CLI prints it.

helm-python-sdk runs Helm's Go code in-process with Go's default loggers, so
Helm's `log.Printf` warnings reach file descriptor 2 as

    2026/12/03 19:59:09 warning: skipped value for p.sub.x: Not a table.

and its `slog.Warn` records as

    2026/12/03 19:59:09 WARN returned non-bool value path=sub.on chart=sub

The helm CLI installs a time-less `slog.TextHandler` instead
(`pkg/cmd/root.go` SetupLogging), which Go's `log` package then feeds at
level INFO, so `helm template` prints the same records as

    level=INFO msg="warning: skipped value for p.sub.x: Not a table."
    level=WARN msg="returned non-bool value" path=sub.on chart=sub

`captured()` collects fd 2 around a call; `cli_lines()` turns what it got
into the CLI's lines. The attributes after an slog message are already in
the TextHandler's syntax (Go's default handler formats them the same way).
"""
import contextlib
import os
import re
import sys
import tempfile

TIMESTAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")
# Go's default slog handler: "LEVEL message key=value ..."; Helm's slog
# messages contain no "=", so the attributes start at the first " key=".
SLOG = re.compile(r"^(DEBUG|INFO|WARN|ERROR) (.*?)((?: [A-Za-z_][A-Za-z0-9_.]*=.*)?)$", re.S)


@contextlib.contextmanager
def captured():
    """Collects what is written to file descriptor 2 (Go's os.Stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    out = []
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", errors="replace"))


def go_quote(s):
    """strconv.Quote."""
    out = ['"']
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(c)])
        elif c.isprintable() or c == " ":
            out.append(c)
        elif ord(c) < 0x80:
            out.append("\\x%02x" % ord(c))
        elif ord(c) < 0x10000:
            out.append("\\u%04x" % ord(c))
        else:
            out.append("\\U%08x" % ord(c))
    out.append('"')
    return "".join(out)


def text_value(s):
    """slog.TextHandler's string: quoted only when it needs to be."""
    if s == "" or any(c in ' ="' or ord(c) < 0x20 or (ord(c) >= 0x80 and (c.isspace() or not c.isprintable())) for c in s):
        return go_quote(s)
    return s


def cli_lines(stderr):
    """The helm CLI's stderr lines for what the SDK logged."""
    records = []
    for line in stderr.splitlines():
        if TIMESTAMP.match(line):
            records.append(TIMESTAMP.sub("", line, count=1))
        elif records:
            # A message with a newline in it (a %v of a multi-line value).
            records[-1] += "\n" + line
    lines = []
    for r in records:
        m = SLOG.match(r)
        if m:
            lines.append(f"level={m[1]} msg={text_value(m[2])}{m[3]}")
        else:
            lines.append(f"level=INFO msg={text_value(r)}")
    return lines
