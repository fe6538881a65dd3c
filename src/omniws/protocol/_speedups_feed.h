/* FrameDecoder.feed() (the frame loop, with the optional frame budget) and the type spec.
 * Included once by _speedups.c (one translation unit); not a public header. */
#ifndef OMNIWS__SPEEDUPS_FEED_H
#define OMNIWS__SPEEDUPS_FEED_H

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

#endif
