/* featurepkg._featurepkg: reports which optional features were compiled in.
 *
 * Built by the in-tree backend with -DHAVE_ZLIB and -lz only when it found
 * zlib.h, the way Pillow decides about JPEG: without the header the build
 * still "succeeds", just without the feature. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#ifdef HAVE_ZLIB
#include <zlib.h>

static PyObject *featurepkg_crc32(PyObject *self, PyObject *args)
{
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data))
        return NULL;
    uLong checksum = crc32(0L, (const Bytef *)data.buf, (uInt)data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(checksum);
}
#endif

static PyObject *featurepkg_features(PyObject *self, PyObject *unused)
{
#ifdef HAVE_ZLIB
    PyObject *zlib = Py_True;
#else
    PyObject *zlib = Py_False;
#endif
    return Py_BuildValue("{s:O}", "zlib", zlib);
}

static PyMethodDef featurepkg_methods[] = {
    {"features", featurepkg_features, METH_NOARGS, "Optional features compiled in."},
#ifdef HAVE_ZLIB
    {"crc32", featurepkg_crc32, METH_VARARGS, "CRC-32 of a bytes-like object, computed by zlib."},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef featurepkg_module = {
    PyModuleDef_HEAD_INIT, "_featurepkg", "Optional features from C.", -1, featurepkg_methods,
};

PyMODINIT_FUNC PyInit__featurepkg(void)
{
    return PyModule_Create(&featurepkg_module);
}
