"""vendor's verification shim: imports modules and runs probes in one process.

Usage: python -I -B shim.py REQUEST.json

REQUEST is {"result": PATH, "checks": [{"kind": "import", "name": MODULE} |
{"kind": "probe", "name": NAME, "code": SOURCE}]}. Before each check the
shim rewrites PATH (atomically) with the results so far and the index of the
check it is about to run, so that when the process hangs or dies the caller
still knows what passed and which check was running:
{"results": [{"index": I, "passed": BOOL, "detail": TEXT}], "running": I | null}.

Only the standard library is used; nothing is printed on purpose (the
modules under test may print, the caller keeps that as a log).

Frameworks whose packages read configuration at import are set up first,
as a project would: with Django in the environment, django.setup() runs
with DJANGO_SETTINGS_MODULE when the caller set it (the app's own settings,
for the app's own package) and with minimal settings otherwise, so that a
Django app package (django-tables2, django-timezone-field) imports as it
does in a project. A failure to set up is not a failure of
anything: the imports then say what they find, and a failed check's detail
says why setting up failed.
"""

import importlib
import importlib.util
import json
import linecache
import os
import sys
import traceback

MAX_DETAIL = 4000


def save(result_path, results, running):
    temporary = result_path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump({"results": results, "running": running}, handle)
    os.replace(temporary, result_path)


def describe(error, probe_file=None):
    """The exception as one line, plus the probe line that raised it."""
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    if probe_file is not None:
        line = None
        frame = error.__traceback__
        while frame is not None:
            if frame.tb_frame.f_code.co_filename == probe_file:
                line = frame.tb_lineno
            frame = frame.tb_next
        if line is not None:
            source = linecache.getline(probe_file, line).strip()
            text = "%s (line %d: `%s`)" % (text, line, source)
    return text[:MAX_DETAIL]


def run_import(module):
    try:
        imported = importlib.import_module(module)
    except BaseException as error:  # SystemExit and friends fail the check too
        return False, describe(error)
    location = getattr(imported, "__file__", None)
    if location is None:
        return True, "imported (namespace package)"
    return True, "imported from %s" % location


def run_probe(name, code):
    filename = "<probe %s>" % name
    # Registered so that tracebacks and `describe` can show the probe's lines.
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    try:
        compiled = compile(code, filename, "exec")
        exec(compiled, {"__name__": "__vendor_probe__"})
    except BaseException as error:
        return False, describe(error, filename)
    return True, "passed"


def set_up_django():
    """Minimal settings and django.setup(), when Django is installed.

    Returns why setting up failed (None when it worked or was not needed),
    so that a failing check can say so.
    """
    try:
        if importlib.util.find_spec("django") is None:
            return None
        import django
        from django.conf import settings

        if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
            settings.configure(
                SECRET_KEY="vendor-verification",
                INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
                DATABASES={},
                USE_TZ=True,
            )
        django.setup()
    except BaseException as error:
        return describe(error)
    return None


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    setup_failure = set_up_django()
    result_path = request["result"]
    results = []
    for index, check in enumerate(request["checks"]):
        save(result_path, results, index)
        if check["kind"] == "import":
            passed, detail = run_import(check["name"])
        else:
            passed, detail = run_probe(check["name"], check["code"])
        if not passed and setup_failure is not None:
            detail = "%s (setting up Django for the checks failed: %s)" % (
                detail,
                setup_failure,
            )
        results.append({"index": index, "passed": passed, "detail": detail})
    save(result_path, results, None)


if __name__ == "__main__":
    main()
