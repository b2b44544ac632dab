#!/usr/bin/env python3
"""Refresh the expectations in jinja_cases.json from Python's Jinja2.

Each case is rendered the way transformers renders chat templates:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension, tojson = json.dumps(ensure_ascii=False, ...) keeping
key order, raise_exception and strftime_now (clock fixed at
2024-07-26T12:00:00). "want" is the output, or "err" the exception class;
compile-time errors are all reported as TemplateSyntaxError, since Parse
reports them so. Cases whose output would hold object addresses must not be
added. Needs Jinja2 3.1 (pip install jinja2==3.1.2).

Usage: python3 jinja_oracle.py [jinja_cases.json]
"""
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime(2024, 7, 26, 12, 0, 0).strftime(fmt)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

path = sys.argv[1] if len(sys.argv) > 1 else "jinja_cases.json"
cases = json.load(open(path, encoding="utf-8"))
for c in cases:
    c.pop("want", None)
    c.pop("err", None)
    try:
        c["want"] = env.from_string(c["tpl"]).render(**c.get("vars", {}))
    except (jinja2.TemplateSyntaxError, jinja2.TemplateAssertionError, SyntaxError) as e:
        c["err"] = "TemplateSyntaxError"
    except Exception as e:
        # Jinja reports unknown tests inside if conditions when rendering;
        # Parse reports every unknown test.
        c["err"] = "TemplateSyntaxError" if "No test named" in str(e) else type(e).__name__
with open(path, "w", encoding="utf-8") as f:
    f.write(json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
