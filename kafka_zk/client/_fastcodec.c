/*
 * The client's per-record loops in C: the same two functions as kafka_zk/client/fastcodec.py, which stays
 * the reference (and the fallback when this extension is not built).
 *
 * Why C here and nowhere else: the client encodes and decodes every record it handles, and after the
 * Python version was tuned (tables, inlined varints, tuple.__new__) the interpreter's per-byte work was
 * still most of its CPU -- 1.4 us of 2.0 us per consumed record (tools/bench_client.py --profile). The
 * broker never needs this: it moves whole batches and decodes records only to validate or compact them.
 *
 *   encode_record(offset_delta, timestamp_delta, key, value, headers) -> bytes
 *   decode_records_into(data, count, base_offset, base_timestamp, log_append_time, min_offset, cls,
 *                       topic, partition, timestamp_type, leader_epoch, out) -> None
 *
 * Both are checked byte for byte against the Python versions and kafka_zk.record in
 * tests/unit/test_client_fastcodec.py. Malformed data raises CorruptRecordError, never reads past `data`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static PyObject *CorruptRecordError; /* kafka_zk.common.errors.CorruptRecordError */

/* ---------------------------------------------------------------------------------------- varints */

static inline uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static inline int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static inline Py_ssize_t varint_size(int64_t value) {
    uint64_t v = zigzag(value);
    Py_ssize_t n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

static inline char *put_varint(char *out, int64_t value) {
    uint64_t v = zigzag(value);
    while (v >= 0x80) { *out++ = (char)((v & 0x7F) | 0x80); v >>= 7; }
    *out++ = (char)v;
    return out;
}

/* Read a zig-zag varint at *pos (< end); 0 on success, -1 with CorruptRecordError set. */
static inline int get_varint(const unsigned char *data, Py_ssize_t end, Py_ssize_t *pos, int64_t *value) {
    uint64_t v = 0;
    int shift = 0;
    Py_ssize_t p = *pos;
    for (;;) {
        if (p >= end) {
            PyErr_SetString(CorruptRecordError, "a record runs past the end of the batch");
            return -1;
        }
        unsigned char b = data[p++];
        v |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80) break;
        shift += 7;
        if (shift >= 70) {
            PyErr_SetString(CorruptRecordError, "a varint is longer than 10 bytes");
            return -1;
        }
    }
    *pos = p;
    *value = unzigzag(v);
    return 0;
}

/* ---------------------------------------------------------------------------------------- encode */

/* A bytes-like or None argument: `present` 0 for None. */
typedef struct { Py_buffer view; int present; } blob;

static int get_blob(PyObject *obj, blob *b, const char *what) {
    b->present = 0;
    if (obj == Py_None) return 0;
    if (PyObject_GetBuffer(obj, &b->view, PyBUF_SIMPLE) < 0) {
        PyErr_Format(PyExc_TypeError, "%s must be bytes or None, got %.100s", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    b->present = 1;
    return 0;
}

static void release_blob(blob *b) {
    if (b->present) PyBuffer_Release(&b->view);
    b->present = 0;
}

static Py_ssize_t blob_field_size(const blob *b) {
    return b->present ? varint_size(b->view.len) + b->view.len : 1;
}

static char *put_blob(char *out, const blob *b) {
    if (!b->present) return put_varint(out, -1);
    out = put_varint(out, b->view.len);
    memcpy(out, b->view.buf, (size_t)b->view.len);
    return out + b->view.len;
}

static PyObject *encode_record(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "encode_record(offset_delta, timestamp_delta, key, value, headers)");
        return NULL;
    }
    int64_t offset_delta = PyLong_AsLongLong(args[0]);
    if (offset_delta == -1 && PyErr_Occurred()) return NULL;
    int64_t ts_delta = PyLong_AsLongLong(args[1]);
    if (ts_delta == -1 && PyErr_Occurred()) return NULL;

    PyObject *result = NULL, *hseq = NULL;
    blob key = {.present = 0}, value = {.present = 0};
    blob *hvals = NULL;
    const char **hkeys = NULL;
    Py_ssize_t *hklens = NULL, nh = 0, i;

    if (get_blob(args[2], &key, "key") < 0 || get_blob(args[3], &value, "value") < 0) goto done;
    if (args[4] != Py_None) {
        hseq = PySequence_Fast(args[4], "headers must be a sequence of (str, bytes | None) pairs");
        if (hseq == NULL) goto done;
        nh = PySequence_Fast_GET_SIZE(hseq);
    }
    if (nh) {
        hvals = PyMem_Calloc((size_t)nh, sizeof(blob));
        hkeys = PyMem_Calloc((size_t)nh, sizeof(char *));
        hklens = PyMem_Calloc((size_t)nh, sizeof(Py_ssize_t));
        if (!hvals || !hkeys || !hklens) { PyErr_NoMemory(); goto done; }
    }
    Py_ssize_t body = 1 + varint_size(ts_delta) + varint_size(offset_delta) + blob_field_size(&key)
                      + blob_field_size(&value) + varint_size(nh);
    for (i = 0; i < nh; i++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(hseq, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "a header must be a (str, bytes | None) pair");
            goto done;
        }
        hkeys[i] = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 0), &hklens[i]);
        if (hkeys[i] == NULL) goto done;
        if (get_blob(PyTuple_GET_ITEM(pair, 1), &hvals[i], "a header value") < 0) goto done;
        body += varint_size(hklens[i]) + hklens[i] + blob_field_size(&hvals[i]);
    }
    result = PyBytes_FromStringAndSize(NULL, varint_size(body) + body);
    if (result == NULL) goto done;
    char *out = PyBytes_AS_STRING(result);
    out = put_varint(out, body);
    *out++ = 0; /* attributes */
    out = put_varint(out, ts_delta);
    out = put_varint(out, offset_delta);
    out = put_blob(out, &key);
    out = put_blob(out, &value);
    out = put_varint(out, nh);
    for (i = 0; i < nh; i++) {
        out = put_varint(out, hklens[i]);
        memcpy(out, hkeys[i], (size_t)hklens[i]);
        out += hklens[i];
        out = put_blob(out, &hvals[i]);
    }
done:
    release_blob(&key);
    release_blob(&value);
    for (i = 0; hvals && i < nh; i++) release_blob(&hvals[i]);
    PyMem_Free(hvals);
    PyMem_Free(hkeys);
    PyMem_Free(hklens);
    Py_XDECREF(hseq);
    return result;
}

/* ---------------------------------------------------------------------------------------- decode */

/* A key, value or header value: NULL with an error set, else bytes or None (new references). */
static PyObject *take_blob(const unsigned char *data, Py_ssize_t end, Py_ssize_t *pos) {
    int64_t len;
    if (get_varint(data, end, pos, &len) < 0) return NULL;
    if (len < 0) Py_RETURN_NONE;
    if (len > end - *pos) {
        PyErr_SetString(CorruptRecordError, "a record runs past the end of the batch");
        return NULL;
    }
    PyObject *b = PyBytes_FromStringAndSize((const char *)data + *pos, (Py_ssize_t)len);
    *pos += (Py_ssize_t)len;
    return b;
}

static PyObject *take_headers(const unsigned char *data, Py_ssize_t end, Py_ssize_t *pos) {
    int64_t count, klen;
    if (get_varint(data, end, pos, &count) < 0) return NULL;
    if (count <= 0) return PyTuple_New(0);
    if (count > end - *pos) { /* every header takes at least two bytes */
        PyErr_SetString(CorruptRecordError, "a record's header count runs past the end of the batch");
        return NULL;
    }
    PyObject *headers = PyTuple_New((Py_ssize_t)count);
    if (headers == NULL) return NULL;
    for (Py_ssize_t i = 0; i < (Py_ssize_t)count; i++) {
        if (get_varint(data, end, pos, &klen) < 0) goto fail;
        if (klen < 0 || klen > end - *pos) {
            PyErr_SetString(CorruptRecordError, "a header key runs past the end of the batch");
            goto fail;
        }
        PyObject *k = PyUnicode_DecodeUTF8((const char *)data + *pos, (Py_ssize_t)klen, "strict");
        if (k == NULL) {
            if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                PyErr_Clear();
                PyErr_SetString(CorruptRecordError, "a header key is not UTF-8");
            }
            goto fail;
        }
        *pos += (Py_ssize_t)klen;
        PyObject *v = take_blob(data, end, pos);
        if (v == NULL) { Py_DECREF(k); goto fail; }
        PyObject *pair = PyTuple_New(2);
        if (pair == NULL) { Py_DECREF(k); Py_DECREF(v); goto fail; }
        PyTuple_SET_ITEM(pair, 0, k);
        PyTuple_SET_ITEM(pair, 1, v);
        PyObject_GC_UnTrack(pair); /* str and bytes/None: no cycle possible (see decode_records_into) */
        PyTuple_SET_ITEM(headers, i, pair);
    }
    PyObject_GC_UnTrack(headers);
    return headers;
fail:
    Py_DECREF(headers);
    return NULL;
}

static PyObject *decode_records_into(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "decode_records_into(data, count, base_offset, base_timestamp, "
                        "log_append_time, min_offset, cls, topic, partition, timestamp_type, leader_epoch, out)");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *ret = NULL;
    const unsigned char *data = view.buf;
    const Py_ssize_t end = view.len;
    Py_ssize_t count = PyLong_AsSsize_t(args[1]);
    int64_t base_offset = PyLong_AsLongLong(args[2]);
    int64_t base_timestamp = PyLong_AsLongLong(args[3]);
    int has_lat = args[4] != Py_None;
    int64_t log_append_time = has_lat ? PyLong_AsLongLong(args[4]) : 0;
    int64_t min_offset = PyLong_AsLongLong(args[5]);
    PyObject *cls = args[6], *topic = args[7], *partition = args[8], *ts_type = args[9], *epoch = args[10];
    PyObject *out = args[11];
    if (PyErr_Occurred()) goto done;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "cls must be a tuple subclass (a NamedTuple)");
        goto done;
    }
    if (!PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "out must be a list");
        goto done;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    /* The records hold only str, int, bytes, None and such tuples, so no reference cycle can pass through
     * them: they are taken off the cyclic collector's list, as CPython itself does for such tuples, but
     * only once a collection has scanned them. Left tracked, the 50,000 records of one large fetch trigger
     * collections that rescan all of them -- a third of the consumer's CPU (0.54 vs 0.35 us/record). */
    int untrack = PyUnicode_CheckExact(topic) && PyLong_CheckExact(partition) && PyLong_CheckExact(ts_type)
                  && PyLong_CheckExact(epoch) && PyType_IS_GC(type);
    Py_ssize_t pos = 0;
    for (Py_ssize_t n = 0; n < count; n++) {
        int64_t length, ts_delta, off_delta;
        if (get_varint(data, end, &pos, &length) < 0) goto done;
        if (length < 0 || length > end - pos) {
            PyErr_Format(CorruptRecordError, "record length %lld runs past the end of the batch", (long long)length);
            goto done;
        }
        Py_ssize_t rec_end = pos + (Py_ssize_t)length;
        pos += 1; /* attributes */
        if (get_varint(data, rec_end, &pos, &ts_delta) < 0 || get_varint(data, rec_end, &pos, &off_delta) < 0)
            goto done;
        PyObject *key = take_blob(data, rec_end, &pos);
        if (key == NULL) goto done;
        PyObject *value = take_blob(data, rec_end, &pos);
        if (value == NULL) { Py_DECREF(key); goto done; }
        PyObject *headers = take_headers(data, rec_end, &pos);
        if (headers == NULL) { Py_DECREF(key); Py_DECREF(value); goto done; }
        if (pos != rec_end) {
            Py_DECREF(key); Py_DECREF(value); Py_DECREF(headers);
            PyErr_Format(CorruptRecordError, "record at position %zd does not match its length %lld",
                         pos, (long long)length);
            goto done;
        }
        int64_t offset = base_offset + off_delta;
        if (offset < min_offset) {
            Py_DECREF(key); Py_DECREF(value); Py_DECREF(headers);
            continue;
        }
        PyObject *o = PyLong_FromLongLong(offset);
        PyObject *ts = PyLong_FromLongLong(has_lat ? log_append_time : base_timestamp + ts_delta);
        PyObject *rec = type->tp_alloc(type, 9);
        if (o == NULL || ts == NULL || rec == NULL) {
            Py_XDECREF(o); Py_XDECREF(ts); Py_XDECREF(rec);
            Py_DECREF(key); Py_DECREF(value); Py_DECREF(headers);
            goto done;
        }
        Py_INCREF(topic); Py_INCREF(partition); Py_INCREF(ts_type); Py_INCREF(epoch);
        PyTuple_SET_ITEM(rec, 0, topic);
        PyTuple_SET_ITEM(rec, 1, partition);
        PyTuple_SET_ITEM(rec, 2, o);
        PyTuple_SET_ITEM(rec, 3, ts);
        PyTuple_SET_ITEM(rec, 4, ts_type);
        PyTuple_SET_ITEM(rec, 5, key);
        PyTuple_SET_ITEM(rec, 6, value);
        PyTuple_SET_ITEM(rec, 7, headers);
        PyTuple_SET_ITEM(rec, 8, epoch);
        if (untrack) PyObject_GC_UnTrack(rec);
        int err = PyList_Append(out, rec);
        Py_DECREF(rec);
        if (err < 0) goto done;
    }
    ret = Py_None;
    Py_INCREF(ret);
done:
    PyBuffer_Release(&view);
    return ret;
}

/* ---------------------------------------------------------------------------------------- module */

static PyMethodDef methods[] = {
    {"encode_record", (PyCFunction)(void (*)(void))encode_record, METH_FASTCALL,
     "One v2 record, length prefix included (Kafka DefaultRecord)."},
    {"decode_records_into", (PyCFunction)(void (*)(void))decode_records_into, METH_FASTCALL,
     "Decode `count` records of an uncompressed records section into `out` (see fastcodec.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "kafka_zk.client._fastcodec",
                                    "C versions of kafka_zk.client.fastcodec's per-record loops.", -1, methods};

PyMODINIT_FUNC PyInit__fastcodec(void) {
    PyObject *errors = PyImport_ImportModule("kafka_zk.common.errors");
    if (errors == NULL) return NULL;
    CorruptRecordError = PyObject_GetAttrString(errors, "CorruptRecordError");
    Py_DECREF(errors);
    if (CorruptRecordError == NULL) return NULL;
    return PyModule_Create(&module);
}
