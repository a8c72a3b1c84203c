/* `zext._zext`: a CPython 3.11 extension module that links the system zlib.
 *
 * The build tests compile it with gcc into
 * `zext/_zext.cpython-311-x86_64-linux-gnu.so` (linked with `-l:libz.so.1`,
 * so its RPM must require `libz.so.1()(64bit)`), then import it from a root
 * the RPMs were installed into and compare its checksum with Python's zlib. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <zlib.h>

static PyObject *zext_crc32(PyObject *self, PyObject *args)
{
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data))
        return NULL;
    uLong checksum = crc32(0L, (const Bytef *)data.buf, (uInt)data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(checksum);
}

static PyObject *zext_zlib_version(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(zlibVersion());
}

static PyMethodDef zext_methods[] = {
    {"crc32", zext_crc32, METH_VARARGS, "CRC-32 of a bytes-like object, computed by zlib."},
    {"zlib_version", zext_zlib_version, METH_NOARGS, "The zlib version the module runs with."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef zext_module = {
    PyModuleDef_HEAD_INIT, "_zext", "zlib from C.", -1, zext_methods,
};

PyMODINIT_FUNC PyInit__zext(void)
{
    return PyModule_Create(&zext_module);
}
