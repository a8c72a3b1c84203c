"""featurepkg: a C extension whose zlib support depends on the build host."""

from featurepkg._featurepkg import features as _features

__all__ = ["features", "crc32"]


def features():
    """Which optional features were compiled in: {"zlib": bool}."""
    return dict(_features())


def crc32(data):
    """CRC-32 of `data` computed by the system zlib (needs the zlib feature)."""
    from featurepkg import _featurepkg

    if not hasattr(_featurepkg, "crc32"):
        raise OSError("featurepkg was built without zlib support")
    return _featurepkg.crc32(data)
