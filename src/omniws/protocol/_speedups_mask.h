/* Masking: XOR with the 4-byte key, in bulk, without the GIL for large payloads.
 * Included once by _speedups.c (one translation unit); not a public header. */
#ifndef OMNIWS__SPEEDUPS_MASK_H
#define OMNIWS__SPEEDUPS_MASK_H

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

#endif
