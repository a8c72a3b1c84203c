# Regenerates the reference tag lists used by the tests in src/targets/tags.rs.
# Run from this folder: python3 generate.py (needs pip, for its vendored packaging).
import sys
from pip._vendor import packaging
from pip._vendor.packaging import _manylinux, tags

def generate(python, glibc, arch, out):
    _manylinux._get_glibc_version = lambda: glibc
    platforms = list(_manylinux.platform_tags("linux_" + arch, arch))
    listed = list(tags.cpython_tags(python_version=python, abis=["cp%d%d" % python], platforms=platforms))
    listed += list(tags.compatible_tags(python_version=python, interpreter="cp%d%d" % python, platforms=platforms))
    with open(out, "w") as handle:
        handle.write("# packaging %s (pip's vendored copy): cpython_tags + compatible_tags for CPython %d.%d,\n" % (packaging.__version__, *python))
        handle.write("# manylinux platforms of glibc %d.%d on %s (the host-only `linux_%s` left out).\n" % (*glibc, arch, arch))
        for tag in listed:
            handle.write(str(tag) + "\n")

generate((3, 11), (2, 28), "x86_64", "packaging-cp311-glibc2.28-x86_64.txt")
generate((3, 12), (2, 34), "aarch64", "packaging-cp312-glibc2.34-aarch64.txt")
