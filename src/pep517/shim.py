"""vendor's PEP 517 hook runner (embedded in the binary, run with `python -I`).

Usage: python -I shim.py REQUEST.json

REQUEST holds: backend ("module" or "module:object"), backend_path (absolute
folders, prepended to sys.path as PEP 517 says), hook, arguments (a list of
positional arguments, as pyproject-hooks passes them) and result (where to
write the answer). The answer is a JSON object: {"status": "ok", "value": ...}, {"status": "missing-hook"} or
{"status": "error", "error": "<traceback>"}. Output of the backend goes to
this process's stdout/stderr, which vendor captures into the build log; the
answer never travels through them.
"""

import importlib
import json
import os
import sys
import traceback


def _write(path, answer):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(answer, handle)
    os.replace(temporary, path)


def _load_backend(spec, backend_path):
    module_name, _, object_path = spec.partition(":")
    if backend_path:
        sys.path[:0] = backend_path
    backend = importlib.import_module(module_name)
    if backend_path:
        origin = os.path.realpath(getattr(backend, "__file__", "") or "")
        roots = [os.path.realpath(path) for path in backend_path]
        if not any(origin == root or origin.startswith(root + os.sep) for root in roots):
            raise ImportError(
                "backend %r was loaded from %r, not from its backend-path %r"
                % (spec, origin, backend_path)
            )
    for attribute in filter(None, object_path.split(".")):
        backend = getattr(backend, attribute)
    return backend


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        request = json.load(handle)
    result = request["result"]
    try:
        backend = _load_backend(request["backend"], request["backend_path"])
        hook = getattr(backend, request["hook"], None)
        if hook is None:
            _write(result, {"status": "missing-hook"})
            return 0
        value = hook(*request["arguments"])
    except BaseException:  # noqa: BLE001 - the backend may raise anything, even SystemExit
        text = traceback.format_exc()
        sys.stderr.write(text)
        sys.stderr.flush()
        _write(result, {"status": "error", "error": text})
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    _write(result, {"status": "ok", "value": value})
    return 0


if __name__ == "__main__":
    sys.exit(main())
