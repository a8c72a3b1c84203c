/* `tiffext._tiffext`: a CPython 3.11 extension module that links the build
 * host's libtiff, `libtiff.so.6` on Debian 12, where EL9 ships
 * `libtiff.so.5`.
 *
 * tests/requires.rs compiles it with `-l:libtiff.so.6` to check that
 * verification refuses a package built against a library the target ships
 * under another soname, unless `[build] allow-foreign-host` accepts it.
 * The prototype is libtiff's own (tiffio.h), so no headers are needed. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

extern const char *TIFFGetVersion(void);

static PyObject *tiffext_version(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(TIFFGetVersion());
}

static PyMethodDef tiffext_methods[] = {
    {"version", tiffext_version, METH_NOARGS, "The libtiff version the module runs with."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef tiffext_module = {
    PyModuleDef_HEAD_INIT, "_tiffext", "libtiff from C.", -1, tiffext_methods,
};

PyMODINIT_FUNC PyInit__tiffext(void)
{
    return PyModule_Create(&tiffext_module);
}
