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
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#define GIL_RELEASE_SIZE (1 << 16)

/* dst[i] = src[i] ^ key[(phase + i) % 4]; dst may be src. */
static void
mask_copy(char *dst, const char *src, Py_ssize_t n, const unsigned char *key, Py_ssize_t phase)
{
    unsigned char k8[8];
    uint64_t k;
    Py_ssize_t i = 0;
    for (int j = 0; j < 8; j++) {
        k8[j] = key[(phase + j) & 3];
    }
    memcpy(&k, k8, 8);
    for (; i + 32 <= n; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, src + i, 8);
        memcpy(&b, src + i + 8, 8);
        memcpy(&c, src + i + 16, 8);
        memcpy(&d, src + i + 24, 8);
        a ^= k; b ^= k; c ^= k; d ^= k;
        memcpy(dst + i, &a, 8);
        memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &c, 8);
        memcpy(dst + i + 24, &d, 8);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t a;
        memcpy(&a, src + i, 8);
        a ^= k;
        memcpy(dst + i, &a, 8);
    }
    for (; i < n; i++) {
        dst[i] = (char)((unsigned char)src[i] ^ k8[i & 7]);
    }
}

static void
mask_copy_maybe_nogil(char *dst, const char *src, Py_ssize_t n, const unsigned char *key)
{
    if (n >= GIL_RELEASE_SIZE) {
        Py_BEGIN_ALLOW_THREADS
        mask_copy(dst, src, n, key, 0);
        Py_END_ALLOW_THREADS
    }
    else {
        mask_copy(dst, src, n, key, 0);
    }
}

static int
get_key(PyObject *obj, Py_buffer *view)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (view->len != 4) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "masking key must be 4 bytes, not %zd", view->len);
        return -1;
    }
    return 0;
}

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

/* ---- FrameDecoder ------------------------------------------------------------------ */
typedef struct {
    PyObject_HEAD
    PyObject *on_frame;
    PyObject *max_payload;
    PyObject *allow_rsv1;
    PyObject *expect_masked;
    PyObject *frame_budget; /* None or an int: frames per feed() call */
    PyObject *rest;         /* the data a budgeted feed() stopped in, or NULL */
    Py_ssize_t rest_at;     /* where it stopped */
    PyObject *chunks;       /* list of bytes: the start of an incomplete frame, or NULL */
    Py_ssize_t have;        /* bytes in chunks */
    uint64_t need;          /* parse again once have >= need */
    int header_known;       /* the incomplete frame's header was parsed and checked */
    unsigned char p_first, p_second;
    Py_ssize_t p_start;     /* offset of its payload from the frame's start */
    uint64_t p_length;
} Decoder;

static int
Decoder_init(Decoder *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"on_frame", "max_payload", "allow_rsv1", "expect_masked",
                             "frame_budget", NULL};
    PyObject *on_frame, *max_payload = Py_None, *allow_rsv1 = Py_False;
    PyObject *expect_masked = Py_False, *frame_budget = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$OOOO:FrameDecoder", kwlist, &on_frame,
                                     &max_payload, &allow_rsv1, &expect_masked,
                                     &frame_budget)) {
        return -1;
    }
    Py_INCREF(frame_budget);
    Py_XSETREF(self->frame_budget, frame_budget);
    Py_CLEAR(self->rest);
    Py_INCREF(on_frame);
    Py_XSETREF(self->on_frame, on_frame);
    Py_INCREF(max_payload);
    Py_XSETREF(self->max_payload, max_payload);
    Py_INCREF(allow_rsv1);
    Py_XSETREF(self->allow_rsv1, allow_rsv1);
    Py_INCREF(expect_masked);
    Py_XSETREF(self->expect_masked, expect_masked);
    Py_CLEAR(self->chunks);
    self->have = 0;
    self->need = 0;
    self->header_known = 0;
    return 0;
}

static int
Decoder_traverse(Decoder *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->on_frame);
    Py_VISIT(self->max_payload);
    Py_VISIT(self->allow_rsv1);
    Py_VISIT(self->expect_masked);
    Py_VISIT(self->frame_budget);
    Py_VISIT(self->rest);
    Py_VISIT(self->chunks);
    return 0;
}

static int
Decoder_clear(Decoder *self)
{
    Py_CLEAR(self->on_frame);
    Py_CLEAR(self->max_payload);
    Py_CLEAR(self->allow_rsv1);
    Py_CLEAR(self->expect_masked);
    Py_CLEAR(self->frame_budget);
    Py_CLEAR(self->rest);
    Py_CLEAR(self->chunks);
    return 0;
}

static void
Decoder_dealloc(Decoder *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Decoder_clear(self);
    tp->tp_free((PyObject *)self);
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        Py_DECREF(tp);
    }
}

/* Python: self._check(first, second, length); it raises for every invalid header. */
static int
call_check(Decoder *self, int first, int second, uint64_t length)
{
    PyObject *result = PyObject_CallMethod((PyObject *)self, "_check", "iiK", first, second,
                                           (unsigned long long)length);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* Python: self.max_payload is not None and length > self.max_payload */
static int
over_limit(Decoder *self, uint64_t length)
{
    PyObject *limit = self->max_payload, *size;
    int overflow, result;
    long long value;
    if (limit == NULL) {
        PyErr_SetString(PyExc_AttributeError, "max_payload");
        return -1;
    }
    if (limit == Py_None) {
        return 0;
    }
    if (PyLong_CheckExact(limit)) {
        value = PyLong_AsLongLongAndOverflow(limit, &overflow);
        if (overflow) {
            return overflow < 0;
        }
        if (value == -1 && PyErr_Occurred()) {
            return -1;
        }
        return value < 0 || length > (uint64_t)value;
    }
    size = PyLong_FromUnsignedLongLong(length);
    if (size == NULL) {
        return -1;
    }
    result = PyObject_RichCompareBool(size, limit, Py_GT);
    Py_DECREF(size);
    return result;
}

/* The Python decoder calls _check when any of these holds. */
static int
needs_check(Decoder *self, int first, int second, uint64_t length, int mask_bit)
{
    int opcode = first & 0x0F;
    if ((first & 0x70) || (second & 0x80) != mask_bit || (opcode != 1 && opcode != 2)) {
        return 1;
    }
    return over_limit(self, length);
}

/* Copy bytes [from, from + n) of the concatenation of chunks and data into dst, masked
 * with key when key is not NULL (phase 0 at dst[0]). */
static void
gather(PyObject *chunks, PyObject *data, Py_ssize_t from, Py_ssize_t n, char *dst,
       const unsigned char *key)
{
    Py_ssize_t count = PyList_GET_SIZE(chunks), done = 0;
    for (Py_ssize_t i = 0; i <= count && done < n; i++) {
        PyObject *part = i < count ? PyList_GET_ITEM(chunks, i) : data;
        Py_ssize_t size = PyBytes_GET_SIZE(part), take;
        if (from >= size) {
            from -= size;
            continue;
        }
        take = size - from;
        if (take > n - done) {
            take = n - done;
        }
        if (key != NULL) {
            mask_copy(dst + done, PyBytes_AS_STRING(part) + from, take, key, done);
        }
        else {
            memcpy(dst + done, PyBytes_AS_STRING(part) + from, take);
        }
        done += take;
        from = 0;
    }
}

static PyObject *
join_all(PyObject *chunks, PyObject *data, Py_ssize_t total)
{
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out != NULL) {
        gather(chunks, data, 0, total, PyBytes_AS_STRING(out), NULL);
    }
    return out;
}

static int
append_chunk(Decoder *self, PyObject *data)
{
    if (PyBytes_GET_SIZE(data) && PyList_Append(self->chunks, data) < 0) {
        return -1;
    }
    self->have += PyBytes_GET_SIZE(data);
    return 0;
}

static PyObject *
Decoder_feed(Decoder *self, PyObject *arg)
{
    PyObject *data, *on_frame = NULL, *payload, *result, *chunks;
    const unsigned char *buf;
    Py_ssize_t end, position = 0, start = 0, budget = -1, frames = 0;
    uint64_t length = 0, need = 0;
    int mask_bit, first = 0, second = 0, masked, status;

    if (PyBytes_Check(arg)) {
        data = Py_NewRef(arg);
    }
    else if ((data = PyBytes_FromObject(arg)) == NULL) {
        return NULL;
    }
    end = PyBytes_GET_SIZE(data);
    if (self->rest != NULL) {  /* a budgeted feed() stopped here: go on from there */
        PyObject *rest = self->rest;
        position = self->rest_at;
        self->rest = NULL;
        if (end == 0) {
            Py_SETREF(data, rest);
        }
        else {
            Py_ssize_t left = PyBytes_GET_SIZE(rest) - position;
            PyObject *joined = PyBytes_FromStringAndSize(NULL, left + end);
            if (joined != NULL) {
                memcpy(PyBytes_AS_STRING(joined), PyBytes_AS_STRING(rest) + position, left);
                memcpy(PyBytes_AS_STRING(joined) + left, PyBytes_AS_STRING(data), end);
            }
            Py_DECREF(rest);
            Py_SETREF(data, joined);
            if (data == NULL) {
                return NULL;
            }
            position = 0;
        }
        end = PyBytes_GET_SIZE(data);
    }
    else if (self->chunks != NULL && (uint64_t)self->have + (uint64_t)end < self->need) {
        if (append_chunk(self, data) < 0) {
            goto fail;
        }
        Py_DECREF(data);
        Py_RETURN_FALSE;
    }
    if (self->frame_budget != NULL && self->frame_budget != Py_None) {
        budget = PyLong_AsSsize_t(self->frame_budget);
        if (budget == -1 && PyErr_Occurred()) {
            goto fail;
        }
    }
    if (self->on_frame == NULL || self->expect_masked == NULL) {
        PyErr_SetString(PyExc_AttributeError, "on_frame");
        goto fail;
    }
    on_frame = Py_NewRef(self->on_frame);
    if ((status = PyObject_IsTrue(self->expect_masked)) < 0) {
        goto fail;
    }
    mask_bit = status ? 0x80 : 0;
    if (self->chunks != NULL) {
        chunks = self->chunks;  /* the state is empty from here on, as in Python */
        self->chunks = NULL;
        if (!self->header_known) {
            PyObject *joined = join_all(chunks, data, self->have + end);
            self->have = 0;
            Py_DECREF(chunks);
            Py_SETREF(data, joined);
            if (data == NULL) {
                Py_DECREF(on_frame);
                return NULL;
            }
            end = PyBytes_GET_SIZE(data);
        }
        else {
            /* the frame started in chunks is complete: one copy into its payload */
            Py_ssize_t have = self->have;
            unsigned char key[4];
            first = self->p_first;
            second = self->p_second;
            length = self->p_length;
            start = self->p_start;
            self->have = 0;
            status = needs_check(self, first, second, length, mask_bit);
            if (status > 0) {
                status = call_check(self, first, second, length);
            }
            if (status < 0 || (payload = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)length))
                                  == NULL) {
                Py_DECREF(chunks);
                goto fail;
            }
            masked = second & 0x80;
            if (masked) {
                gather(chunks, data, start - 4, 4, (char *)key, NULL);
            }
            gather(chunks, data, start, (Py_ssize_t)length, PyBytes_AS_STRING(payload),
                   masked ? key : NULL);
            Py_DECREF(chunks);
            position = (Py_ssize_t)(self->need - (uint64_t)have);
            result = PyObject_CallFunction(on_frame, "iN", first, payload);
            if (result == NULL) {
                goto fail;
            }
            Py_DECREF(result);
            if (++frames == budget && position < end) {
                goto stop;
            }
        }
    }
    buf = (const unsigned char *)PyBytes_AS_STRING(data);
    while (end - position >= 2) {
        PyObject *call_args[2];
        first = buf[position];
        second = buf[position + 1];
        length = second & 0x7F;
        start = position + 2;
        if (length >= 126) {
            if (length == 126) {
                if (end - position < 4) {
                    break;
                }
                length = ((uint64_t)buf[start] << 8) | buf[start + 1];
                start += 2;
            }
            else {
                if (end - position < 10) {
                    break;
                }
                length = 0;
                for (int i = 0; i < 8; i++) {
                    length = (length << 8) | buf[start + i];
                }
                start += 8;
                if ((length >> 63) && call_check(self, first, second, length) < 0) {
                    goto fail;
                }
            }
        }
        masked = second & 0x80;
        if (masked) {
            start += 4;
        }
        if ((status = needs_check(self, first, second, length, mask_bit)) != 0) {
            if (status < 0 || call_check(self, first, second, length) < 0) {
                goto fail;
            }
        }
        if ((uint64_t)start + length > (uint64_t)end) {
            need = (uint64_t)start + length - (uint64_t)position;
            break;
        }
        if (masked) {
            payload = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)length);
            if (payload != NULL) {
                mask_copy(PyBytes_AS_STRING(payload), (const char *)buf + start,
                          (Py_ssize_t)length, buf + start - 4, 0);
            }
        }
        else {
            payload = PyBytes_FromStringAndSize((const char *)buf + start, (Py_ssize_t)length);
        }
        if (payload == NULL) {
            goto fail;
        }
        position = start + (Py_ssize_t)length;
        call_args[0] = PyLong_FromLong(first);
        if (call_args[0] == NULL) {
            Py_DECREF(payload);
            goto fail;
        }
        call_args[1] = payload;
        result = PyObject_Vectorcall(on_frame, call_args, 2, NULL);
        Py_DECREF(call_args[0]);
        Py_DECREF(payload);
        if (result == NULL) {
            goto fail;
        }
        Py_DECREF(result);
        if (++frames == budget && position < end) {
            goto stop;
        }
    }
    Py_DECREF(on_frame);
    if (position < end) {
        PyObject *rest = position ? PyBytes_FromStringAndSize((const char *)buf + position,
                                                              end - position)
                                  : Py_NewRef(data);
        PyObject *list = rest == NULL ? NULL : PyList_New(1);
        if (list == NULL) {
            Py_XDECREF(rest);
            Py_DECREF(data);
            return NULL;
        }
        PyList_SET_ITEM(list, 0, rest);
        Py_XSETREF(self->chunks, list);
        self->have = end - position;
        self->header_known = need > 0;
        if (need > 0) {
            self->need = need;
            self->p_first = (unsigned char)first;
            self->p_second = (unsigned char)second;
            self->p_start = start - position;
            self->p_length = length;
        }
        else {
            self->need = (uint64_t)self->have + 1;
        }
    }
    Py_DECREF(data);
    Py_RETURN_FALSE;
stop:  /* the budget is spent: keep the rest of data for the next feed() */
    Py_DECREF(on_frame);
    self->rest = data;  /* the reference moves to self */
    self->rest_at = position;
    Py_RETURN_TRUE;
fail:
    Py_XDECREF(on_frame);
    Py_DECREF(data);
    return NULL;
}

static PyObject *
Decoder_get_buffered(Decoder *self, void *closure)
{
    if (self->rest != NULL) {
        return PyLong_FromSsize_t(PyBytes_GET_SIZE(self->rest) - self->rest_at);
    }
    return PyLong_FromSsize_t(self->chunks != NULL ? self->have : 0);
}

static PyMethodDef Decoder_methods[] = {
    {"feed", (PyCFunction)Decoder_feed, METH_O,
     "Parse data; raises ProtocolError (or MessageTooLarge) on a bad frame. Returns True "
     "when it stopped after frame_budget frames with bytes left: feed(b'') goes on."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Decoder_members[] = {
    {"on_frame", T_OBJECT_EX, offsetof(Decoder, on_frame), 0, NULL},
    {"max_payload", T_OBJECT_EX, offsetof(Decoder, max_payload), 0, NULL},
    {"allow_rsv1", T_OBJECT_EX, offsetof(Decoder, allow_rsv1), 0, NULL},
    {"expect_masked", T_OBJECT_EX, offsetof(Decoder, expect_masked), 0, NULL},
    {"frame_budget", T_OBJECT_EX, offsetof(Decoder, frame_budget), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef Decoder_getset[] = {
    {"buffered", (getter)Decoder_get_buffered, NULL,
     "Bytes received but not yet parsed into a frame.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Decoder_slots[] = {
    {Py_tp_doc, "Compiled base of FrameDecoder; frames.py supplies _check."},
    {Py_tp_init, Decoder_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, Decoder_dealloc},
    {Py_tp_traverse, Decoder_traverse},
    {Py_tp_clear, Decoder_clear},
    {Py_tp_methods, Decoder_methods},
    {Py_tp_members, Decoder_members},
    {Py_tp_getset, Decoder_getset},
    {0, NULL},
};

static PyType_Spec Decoder_spec = {
    "omniws.protocol._speedups.FrameDecoder",
    sizeof(Decoder),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    Decoder_slots,
};

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
