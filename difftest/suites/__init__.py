"""The suites, one module each; `ALL` in the order a full run takes them.

A suite is a `Suite` (base.py): it generates a case from a seed, runs it
through Helm and berth, says how the two answers differ, shrinks, and
describes a case as a reproducer (chart files, user values, berth flags).
"""
from . import caps, charts, lint, setexpr, showonly, templates, values, yamlfiles

ALL = {s.NAME: s for s in (templates.Templates(), setexpr.SetExpr(), values.Values(),
                            charts.Charts(), yamlfiles.YamlFiles(), caps.Caps(),
                            showonly.ShowOnly(), lint.Lint())}
