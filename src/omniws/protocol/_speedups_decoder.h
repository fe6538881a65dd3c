/* FrameDecoder: its state, lifecycle and the helpers of feed() (header checks, gathering
 * the bytes of a frame that arrived in pieces).
 * Included once by _speedups.c (one translation unit); not a public header. */
#ifndef OMNIWS__SPEEDUPS_DECODER_H
#define OMNIWS__SPEEDUPS_DECODER_H

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

#endif
