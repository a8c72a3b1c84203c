/* `bundler._core`: a CPython 3.11 extension module that links the library
 * the wheel bundles, found at run time through
 * `RPATH=$ORIGIN/../bundler.libs` as auditwheel arranges it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int bundled_answer(void);

static PyObject *core_answer(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(bundled_answer());
}

static PyMethodDef core_methods[] = {
    {"answer", core_answer, METH_NOARGS, "What the bundled library answers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "_core", "Calls into a bundled library.", -1, core_methods,
};

PyMODINIT_FUNC PyInit__core(void)
{
    return PyModule_Create(&core_module);
}
