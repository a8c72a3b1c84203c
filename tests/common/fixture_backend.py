"""In-tree PEP 517 backend shipped inside fixture sdists.

Standard library only, no network: the real metadata lives in
`_fixture/METADATA` (PKG-INFO declares `Requires-Dist` dynamic), and
`build_wheel` packs every top-level folder holding an `__init__.py` into a
pure wheel with a correct RECORD. Deterministic: fixed timestamps, sorted
entries.
"""

import base64
import hashlib
import os
import re
import tarfile
import zipfile

_ROOT = os.path.dirname(os.path.abspath(__file__))
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _metadata():
    with open(os.path.join(_ROOT, "_fixture", "METADATA"), encoding="utf-8") as handle:
        return handle.read()


def _field(text, key):
    for line in text.splitlines():
        if line.startswith(key + ": "):
            return line[len(key) + 2:]
    raise KeyError(key)


def _base_name(text):
    name = re.sub(r"[-_.]+", "_", _field(text, "Name")).lower()
    return "%s-%s" % (name, _field(text, "Version"))


_WHEEL = (
    "Wheel-Version: 1.0\n"
    "Generator: vendor-fixture-backend\n"
    "Root-Is-Purelib: true\n"
    "Tag: py3-none-any\n"
)


def get_requires_for_build_wheel(config_settings=None):
    # Optional: what this fixture's backend asks for beyond [build-system].requires.
    path = os.path.join(_ROOT, "_fixture", "BACKEND_REQUIRES")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    text = _metadata()
    dist_info = _base_name(text) + ".dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    for name, content in (("METADATA", text), ("WHEEL", _WHEEL)):
        path = os.path.join(metadata_directory, dist_info, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
    return dist_info


def _package_files():
    for top in sorted(os.listdir(_ROOT)):
        folder = os.path.join(_ROOT, top)
        if not os.path.isfile(os.path.join(folder, "__init__.py")):
            continue
        for directory, subdirectories, files in os.walk(folder):
            subdirectories.sort()
            for name in sorted(files):
                path = os.path.join(directory, name)
                yield os.path.relpath(path, _ROOT).replace(os.sep, "/"), path


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    text = _metadata()
    base = _base_name(text)
    entries = []
    for archive_path, path in _package_files():
        with open(path, "rb") as handle:
            entries.append((archive_path, handle.read()))
    entries.append((base + ".dist-info/METADATA", text.encode("utf-8")))
    entries.append((base + ".dist-info/WHEEL", _WHEEL.encode("utf-8")))
    record_path = base + ".dist-info/RECORD"
    record = ""
    for archive_path, content in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest())
        record += "%s,sha256=%s,%d\n" % (
            archive_path,
            digest.rstrip(b"=").decode("ascii"),
            len(content),
        )
    record += record_path + ",,\n"
    entries.append((record_path, record.encode("utf-8")))
    filename = base + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for archive_path, content in entries:
            info = zipfile.ZipInfo(archive_path, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return filename


def build_sdist(sdist_directory, config_settings=None):
    base = os.path.basename(_ROOT)
    filename = base + ".tar.gz"

    def reset(info):
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as archive:
        for name in sorted(os.listdir(_ROOT)):
            archive.add(os.path.join(_ROOT, name), arcname=base + "/" + name, filter=reset)
    return filename
