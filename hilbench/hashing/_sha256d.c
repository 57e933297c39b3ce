/*
 * Native SHA-256d nonce scanner (shared by the emulated boards and the hash-board driver).
 *
 * Why C: a Python loop over hashlib spends most of its time in call overhead,
 * so it cannot reuse the header midstate profitably.  Here the first 64 header
 * bytes are compressed once, each nonce costs two SHA-256 compressions, and the
 * GIL is released so several threads scan disjoint nonce ranges on all cores.
 *
 * scan_range(header80: bytes, start: int, count: int, target_le32: bytes) -> list[int]
 *   Every nonce n in [start, start+count) (mod 2^32 is NOT applied; the caller
 *   keeps the range inside 32 bits) whose double SHA-256 of the header with
 *   bytes 76..79 = n (little endian), read as a little-endian 256-bit integer,
 *   is <= the target (given as 32 little-endian bytes).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static const uint32_t IV[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define S0(x) (ROR(x, 2) ^ ROR(x, 13) ^ ROR(x, 22))
#define S1(x) (ROR(x, 6) ^ ROR(x, 11) ^ ROR(x, 25))
#define s0(x) (ROR(x, 7) ^ ROR(x, 18) ^ ((x) >> 3))
#define s1(x) (ROR(x, 17) ^ ROR(x, 19) ^ ((x) >> 10))
#define CH(x, y, z) (((x) & ((y) ^ (z))) ^ (z))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))

/* One SHA-256 compression of the 16 big-endian words w (overwritten) into state. */
static inline void compress(uint32_t state[8], uint32_t w[16]) {
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t wi;
        if (i < 16) {
            wi = w[i];
        } else {
            wi = s1(w[(i - 2) & 15]) + w[(i - 7) & 15] + s0(w[(i - 15) & 15]) + w[i & 15];
            w[i & 15] = wi;
        }
        uint32_t t1 = h + S1(e) + CH(e, f, g) + K[i] + wi;
        uint32_t t2 = S0(a) + MAJ(a, b, c);
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

static inline uint32_t load_be(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint32_t bswap32(uint32_t x) {
    return (x >> 24) | ((x >> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24);
}

/* digest byte i of the final hash = byte (i & 3) of H[i >> 2] in big-endian order.
 * Read as a little-endian integer, its most significant 32-bit limb is bytes 28..31,
 * i.e. bswap(H[7]); limb k (k = 7 .. 0) is bswap(H[k]). */
static inline int hash_le_leq_target(const uint32_t H[8], const uint32_t target_limbs[8]) {
    for (int k = 7; k >= 0; k--) {
        uint32_t v = bswap32(H[k]);
        if (v < target_limbs[k]) return 1;
        if (v > target_limbs[k]) return 0;
    }
    return 1; /* equal */
}

typedef struct {
    uint32_t *items;
    size_t len, cap;
    int oom;
} nonce_list;

static void push(nonce_list *l, uint32_t v) {
    if (l->oom) return;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uint32_t *p = realloc(l->items, cap * sizeof(uint32_t));
        if (!p) { l->oom = 1; return; }
        l->items = p; l->cap = cap;
    }
    l->items[l->len++] = v;
}

static PyObject *scan_range(PyObject *self, PyObject *args) {
    Py_buffer header, target;
    unsigned long long start, count;
    if (!PyArg_ParseTuple(args, "y*KKy*", &header, &start, &count, &target)) return NULL;
    if (header.len != 80 || target.len != 32) {
        PyBuffer_Release(&header); PyBuffer_Release(&target);
        PyErr_SetString(PyExc_ValueError, "scan_range needs an 80-byte header and a 32-byte target");
        return NULL;
    }
    if (start > 0xffffffffULL || count > 0x100000000ULL - start) {
        PyBuffer_Release(&header); PyBuffer_Release(&target);
        PyErr_SetString(PyExc_ValueError, "nonce range leaves the 32-bit nonce space");
        return NULL;
    }
    const unsigned char *h = header.buf;
    const unsigned char *t = target.buf;
    uint32_t mid[8], w[16], limbs[8];
    memcpy(mid, IV, sizeof mid);
    for (int i = 0; i < 16; i++) w[i] = load_be(h + 4 * i);
    compress(mid, w);
    uint32_t tail0 = load_be(h + 64), tail1 = load_be(h + 68), tail2 = load_be(h + 72);
    for (int k = 0; k < 8; k++)
        limbs[k] = (uint32_t)t[4 * k] | ((uint32_t)t[4 * k + 1] << 8) |
                   ((uint32_t)t[4 * k + 2] << 16) | ((uint32_t)t[4 * k + 3] << 24);
    PyBuffer_Release(&header);
    PyBuffer_Release(&target);

    nonce_list found = {0};
    Py_BEGIN_ALLOW_THREADS
    for (unsigned long long i = 0; i < count; i++) {
        uint32_t nonce = (uint32_t)(start + i);
        uint32_t s[8], H[8];
        memcpy(s, mid, sizeof s);
        w[0] = tail0; w[1] = tail1; w[2] = tail2; w[3] = bswap32(nonce);
        w[4] = 0x80000000u;
        for (int j = 5; j < 15; j++) w[j] = 0;
        w[15] = 640;
        compress(s, w);
        memcpy(H, IV, sizeof H);
        for (int j = 0; j < 8; j++) w[j] = s[j];
        w[8] = 0x80000000u;
        for (int j = 9; j < 15; j++) w[j] = 0;
        w[15] = 256;
        compress(H, w);
        if (hash_le_leq_target(H, limbs)) push(&found, nonce);
    }
    Py_END_ALLOW_THREADS
    if (found.oom) {
        free(found.items);
        return PyErr_NoMemory();
    }
    PyObject *out = PyList_New((Py_ssize_t)found.len);
    if (!out) { free(found.items); return NULL; }
    for (size_t i = 0; i < found.len; i++) {
        PyObject *v = PyLong_FromUnsignedLong(found.items[i]);
        if (!v) { Py_DECREF(out); free(found.items); return NULL; }
        PyList_SET_ITEM(out, (Py_ssize_t)i, v);
    }
    free(found.items);
    return out;
}

static PyMethodDef methods[] = {
    {"scan_range", scan_range, METH_VARARGS,
     "scan_range(header80, start, count, target_le32) -> list of nonces whose sha256d <= target"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_sha256d", NULL, -1, methods};

PyMODINIT_FUNC PyInit__sha256d(void) { return PyModule_Create(&module); }
