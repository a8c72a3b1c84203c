"""In-tree PEP 517 backend of featurepkg (standard library only, no setuptools).

It compiles `src/featurepkg/_featurepkg.c` with the C compiler (`$CC`, else
`cc`) and writes a platform wheel with zipfile and a correct RECORD.

Like Pillow, it looks for an optional library's header and, when the header
is not found, builds WITHOUT the feature and says so only in its output:

- `zlib.h` is searched in `$FEATUREPKG_INCLUDE_DIRS` (`:`-separated) when that
  variable is set (empty: nowhere), else in `/usr/include`,
  `/usr/local/include` and `$CPATH` / `$C_INCLUDE_PATH`. Found: the module is
  compiled with `-DHAVE_ZLIB` and linked with `-lz`, and
  `featurepkg.features()["zlib"]` is true.

Test switches:
- `FEATUREPKG_FAIL=1` (environment) makes `build_wheel` fail after some output;
- `FEATUREPKG_BUILD_REQUIRES` (environment, `,`-separated) or the config
  setting `build-requires` (a string or a list) are returned by
  `get_requires_for_build_wheel`, as backends that need more than
  `[build-system].requires` do.

Deterministic: entries sorted, timestamps from `SOURCE_DATE_EPOCH`.
"""

import base64
import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
import time
import zipfile

_ROOT = os.getcwd()


def _metadata():
    with open(os.path.join(_ROOT, "PKG-INFO"), encoding="utf-8") as handle:
        return handle.read()


def _field(text, key):
    for line in text.splitlines():
        if line.startswith(key + ": "):
            return line[len(key) + 2:]
    raise KeyError(key)


def _listed(value):
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [item.strip() for item in value if item.strip()]


def get_requires_for_build_wheel(config_settings=None):
    settings = config_settings or {}
    return _listed(os.environ.get("FEATUREPKG_BUILD_REQUIRES")) + _listed(
        settings.get("build-requires")
    )


def _include_dirs():
    configured = os.environ.get("FEATUREPKG_INCLUDE_DIRS")
    if configured is not None:
        return [path for path in configured.split(":") if path]
    dirs = ["/usr/include", "/usr/local/include"]
    for variable in ("CPATH", "C_INCLUDE_PATH"):
        dirs += [path for path in os.environ.get(variable, "").split(":") if path]
    return dirs


def _find_header(name):
    for directory in _include_dirs():
        if os.path.isfile(os.path.join(directory, name)):
            return directory
    return None


def _tag():
    interpreter = "cp%d%d" % sys.version_info[:2]
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s-%s" % (interpreter, interpreter, platform)


def _compile(build_dir):
    zlib_dir = _find_header("zlib.h")
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    output = os.path.join(build_dir, "_featurepkg" + suffix)
    command = shlex.split(os.environ.get("CC", "cc")) + [
        "-shared",
        "-fPIC",
        "-O2",
        "-I" + sysconfig.get_paths()["include"],
    ]
    if zlib_dir is None:
        print("featurepkg: zlib.h not found, building without zlib support")
    else:
        print("featurepkg: zlib.h found in %s" % zlib_dir)
        command += ["-DHAVE_ZLIB", "-I" + zlib_dir]
    command += [os.path.join("src", "featurepkg", "_featurepkg.c"), "-o", output]
    if zlib_dir is not None:
        command.append("-lz")
    print("featurepkg: " + " ".join(command))
    sys.stdout.flush()
    subprocess.check_call(command)
    return output


def _date_time():
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    return time.gmtime(max(epoch, 315532800))[:6]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if os.environ.get("FEATUREPKG_FAIL"):
        print("featurepkg: compiling src/featurepkg/_featurepkg.c")
        sys.stderr.write("error: featurepkg was told to fail (FEATUREPKG_FAIL is set)\n")
        raise RuntimeError("featurepkg build failed on purpose")
    text = _metadata()
    name = _field(text, "Name").replace("-", "_").replace(".", "_").lower()
    base = "%s-%s" % (name, _field(text, "Version"))
    build_dir = os.path.join(_ROOT, "build")
    os.makedirs(build_dir, exist_ok=True)
    extension = _compile(build_dir)

    entries = []
    package = os.path.join(_ROOT, "src", "featurepkg")
    for file_name in sorted(os.listdir(package)):
        if file_name.endswith(".py"):
            with open(os.path.join(package, file_name), "rb") as handle:
                entries.append(("featurepkg/" + file_name, handle.read(), 0o644))
    with open(extension, "rb") as handle:
        entries.append(("featurepkg/" + os.path.basename(extension), handle.read(), 0o755))
    wheel = (
        "Wheel-Version: 1.0\nGenerator: featurepkg_backend\nRoot-Is-Purelib: false\n"
        "Tag: %s\n" % _tag()
    )
    entries.append((base + ".dist-info/METADATA", text.encode("utf-8"), 0o644))
    entries.append((base + ".dist-info/WHEEL", wheel.encode("utf-8"), 0o644))
    record_path = base + ".dist-info/RECORD"
    record = ""
    for archive_path, content, _mode in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest())
        record += "%s,sha256=%s,%d\n" % (
            archive_path,
            digest.rstrip(b"=").decode("ascii"),
            len(content),
        )
    record += record_path + ",,\n"
    entries.append((record_path, record.encode("utf-8"), 0o644))

    filename = "%s-%s.whl" % (base, _tag())
    date_time = _date_time()
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for archive_path, content, mode in entries:
            info = zipfile.ZipInfo(archive_path, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = mode << 16
            archive.writestr(info, content)
    return filename
