"""Import every top-level module of every installed distribution.

Usage: python -I import_everything.py SITE_PACKAGES

Top-level modules come from each `*.dist-info/RECORD` under SITE_PACKAGES:
the first part of every path that is a package folder (`x/__init__.py`) or
a module (`x.py`, `x.cpython-311-x86_64-linux-gnu.so`). Django is set up
with minimal settings first, as a project would be (and as vendor's
verification does). Each import runs in its own child process, so one
module that exits or crashes cannot hide the others. Prints one JSON object:
{module: "ok" | error text}.
"""

import json
import os
import subprocess
import sys

SETUP = """
import importlib, sys
try:
    import django
    from django.conf import settings
    settings.configure(
        SECRET_KEY="import-everything",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()
except ImportError:
    pass
importlib.import_module(sys.argv[1])
"""


def top_level_modules(site_packages):
    modules = set()
    for entry in os.listdir(site_packages):
        if not entry.endswith(".dist-info"):
            continue
        record = os.path.join(site_packages, entry, "RECORD")
        if not os.path.exists(record):
            continue
        with open(record, encoding="utf-8") as handle:
            for line in handle:
                path = line.split(",")[0]
                parts = path.split("/")
                first = parts[0]
                if first.startswith("..") or first.endswith((".dist-info", ".data")):
                    continue
                if first == "__pycache__" or "-" in first:
                    continue
                if len(parts) > 1 and parts[1] == "__init__.py":
                    modules.add(first)
                elif len(parts) == 1 and first.endswith(".py"):
                    modules.add(first[:-3])
                elif len(parts) == 1 and first.endswith(".so"):
                    modules.add(first.split(".")[0])
    return sorted(modules)


def main():
    results = {}
    for module in top_level_modules(sys.argv[1]):
        child = subprocess.run(
            [sys.executable, "-I", "-c", SETUP, module],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if child.returncode == 0:
            results[module] = "ok"
        else:
            lines = child.stderr.strip().splitlines()
            results[module] = lines[-1] if lines else "exit %d" % child.returncode
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
