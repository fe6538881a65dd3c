/* Optional compiled fast path for omniws.protocol.frames (CPython only).
 *
 * The pure-Python code in frames.py is the reference: every function here must give
 * exactly the same results, and the decoder's error path calls the Python
 * ``FrameDecoder._check`` so the validation and the messages are the same.
 * tests/unit/test_speedups.py compares both implementations on random input.
 *
 *   mask(payload, key) -> bytes
 *   encode_frame(opcode, payload, key, *, fin=True, rsv1=False) -> bytes
 *   FrameDecoder: base type of the compiled decoder (frames.py adds ``_check``)
 *
 * One translation unit in four files: _speedups_mask.h (masking), _speedups_decoder.h (the
 * decoder's state and helpers), _speedups_feed.h (its frame loop and type), this file (the
 * module functions and the module).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#include "_speedups_mask.h"

/* ---- mask ------------------------------------------------------------------------ */
static PyObject *
speedups_mask(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer payload, key;
    PyObject *out;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "mask() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &payload, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (get_key(args[1], &key) < 0) {
        PyBuffer_Release(&payload);
        return NULL;
    }
    out = PyBytes_FromStringAndSize(NULL, payload.len);
    if (out != NULL) {
        mask_copy_maybe_nogil(PyBytes_AS_STRING(out), payload.buf, payload.len, key.buf);
    }
    PyBuffer_Release(&key);
    PyBuffer_Release(&payload);
    return out;
}

/* ---- encode_frame ------------------------------------------------------------------ */
static PyObject *
speedups_encode_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames)
{
    int fin = 1, rsv1 = 0;
    long opcode, first;
    Py_buffer payload, key;
    int masked;
    Py_ssize_t size, header;
    unsigned char head[14];
    PyObject *out;
    char *dst;

    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "encode_frame() takes 3 positional arguments (%zd given)", nargs);
        return NULL;
    }
    if (kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nkw; i++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, i);
            int truth = PyObject_IsTrue(args[nargs + i]);
            if (truth < 0) {
                return NULL;
            }
            if (PyUnicode_CompareWithASCIIString(name, "fin") == 0) {
                fin = truth;
            }
            else if (PyUnicode_CompareWithASCIIString(name, "rsv1") == 0) {
                rsv1 = truth;
            }
            else {
                PyErr_Format(PyExc_TypeError,
                             "encode_frame() got an unexpected keyword argument '%U'", name);
                return NULL;
            }
        }
    }
    opcode = PyLong_AsLong(args[0]);
    if (opcode == -1 && PyErr_Occurred()) {
        return NULL;
    }
    first = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
    if (opcode < 0 || first > 255) {
        PyErr_SetString(PyExc_ValueError, "frame's first byte must be in range(0, 256)");
        return NULL;
    }
    masked = args[2] != Py_None;
    if (PyObject_GetBuffer(args[1], &payload, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (masked && get_key(args[2], &key) < 0) {
        PyBuffer_Release(&payload);
        return NULL;
    }
    size = payload.len;
    head[0] = (unsigned char)first;
    if (size < 126) {
        head[1] = (unsigned char)size;
        header = 2;
    }
    else if (size < 65536) {
        head[1] = 126;
        head[2] = (unsigned char)(size >> 8);
        head[3] = (unsigned char)size;
        header = 4;
    }
    else {
        uint64_t n = (uint64_t)size;
        head[1] = 127;
        for (int i = 0; i < 8; i++) {
            head[2 + i] = (unsigned char)(n >> (56 - 8 * i));
        }
        header = 10;
    }
    if (masked) {
        head[1] |= 0x80;
        memcpy(head + header, key.buf, 4);
        header += 4;
    }
    out = PyBytes_FromStringAndSize(NULL, header + size);
    if (out != NULL) {
        dst = PyBytes_AS_STRING(out);
        memcpy(dst, head, header);
        if (masked) {
            mask_copy_maybe_nogil(dst + header, payload.buf, size, key.buf);
        }
        else {
            memcpy(dst + header, payload.buf, size);
        }
    }
    if (masked) {
        PyBuffer_Release(&key);
    }
    PyBuffer_Release(&payload);
    return out;
}


#include "_speedups_decoder.h"
#include "_speedups_feed.h"

/* ---- module ------------------------------------------------------------------------ */
static PyMethodDef speedups_methods[] = {
    {"mask", (PyCFunction)(void (*)(void))speedups_mask, METH_FASTCALL,
     "mask(payload, key) -> bytes: XOR payload with the 4-byte masking key."},
    {"encode_frame", (PyCFunction)(void (*)(void))speedups_encode_frame,
     METH_FASTCALL | METH_KEYWORDS,
     "encode_frame(opcode, payload, key, *, fin=True, rsv1=False) -> bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "omniws.protocol._speedups",
    "Compiled fast path for omniws.protocol.frames.", -1, speedups_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *module = PyModule_Create(&speedups_module), *type;
    if (module == NULL) {
        return NULL;
    }
    type = PyType_FromSpec(&Decoder_spec);
    if (type == NULL || PyModule_AddObject(module, "FrameDecoder", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
