# The audit trail's writer (arbcore.storage.audit): hash-chains rows and commits them to SQLite
# in C on a thread that never holds the GIL, so a trading loop in the same process never waits
# for it. Python hands it finished rows (their canonical JSON made already); this module owns
# the chain's tip, the SQLite connection that writes, and the durable sequence number.
# cython: language_level=3
"""The audit trail's writer in C: rows in, hash-chained and committed without the GIL.

:class:`AuditWriter` is the writing half of :class:`arbcore.storage.audit.AuditTrail`. A row
reaches it as text (``push``: its sequence number, time, kind, trace, venue, symbol and payload
JSON, copied into C memory); its thread (``run``, the body of the trail's writer thread) sleeps
on a condition variable until rows are queued, lets a batch gather for ``interval_s`` (at once
after ``commit_now``), then hashes each row onto the chain (SHA-256 of the previous hash and the
row's fields joined by ``0x1f``, the text :func:`arbcore.storage.audit._row_hash` hashes) and
inserts it through SQLite's C API, up to ``batch_max`` rows a transaction. Nothing on that
thread is a Python object, so it takes the GIL only to start and to return.

SQLite's functions are looked up in the library the interpreter's own ``sqlite3`` module uses
(no SQLite headers or second library are needed to build or run). A failed statement rolls its
transaction back and stops the writer with the statement and SQLite's message in ``error``;
rows queued after it are dropped with it (the trail refuses further appends when it sees the
error, so nothing is acknowledged that was not written).

The flag ``held`` serves the trail's preparer thread: records appended but not yet made into
rows (``held``); ``wait_held`` sleeps, without the GIL, until some are held and have
waited ``interval_s`` without the engine's idle hook preparing them.
"""

from libc.stdint cimport int64_t
from cpython.unicode cimport PyUnicode_AsUTF8AndSize

import sqlite3 as _sqlite3_module  # (loads the library whose functions are looked up below)
import _sqlite3

cdef extern from *:
    """
    #include <dlfcn.h>
    #include <errno.h>
    #include <pthread.h>
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <time.h>

    /* ---- SHA-256, FIPS 180-4 ---------------------------------------------------------- */
    typedef struct { uint32_t h[8]; uint64_t bytes; unsigned char block[64]; size_t used; }
        arb_sha256;

    static const uint32_t ARB_SHA_K[64] = {
        0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
        0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
        0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
        0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
        0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
        0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
        0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
        0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};

    #define ARB_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

    static void arb_sha256_block(uint32_t h[8], const unsigned char* p) {
        uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
        int i;
        for (i = 0; i < 16; i++)
            w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16
                   | (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
        for (i = 16; i < 64; i++)
            w[i] = w[i - 16] + (ARB_ROR(w[i - 15], 7) ^ ARB_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3))
                   + w[i - 7] + (ARB_ROR(w[i - 2], 17) ^ ARB_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
        a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; k = h[7];
        for (i = 0; i < 64; i++) {
            t1 = k + (ARB_ROR(e, 6) ^ ARB_ROR(e, 11) ^ ARB_ROR(e, 25)) + ((e & f) ^ (~e & g))
                 + ARB_SHA_K[i] + w[i];
            t2 = (ARB_ROR(a, 2) ^ ARB_ROR(a, 13) ^ ARB_ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
    }

    static void arb_sha256_init(arb_sha256* s) {
        static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        memcpy(s->h, h0, sizeof h0);
        s->bytes = 0;
        s->used = 0;
    }

    static void arb_sha256_update(arb_sha256* s, const void* data, size_t n) {
        const unsigned char* p = (const unsigned char*)data;
        s->bytes += n;
        if (s->used) {
            size_t take = 64 - s->used < n ? 64 - s->used : n;
            memcpy(s->block + s->used, p, take);
            s->used += take; p += take; n -= take;
            if (s->used < 64) return;
            arb_sha256_block(s->h, s->block);
            s->used = 0;
        }
        for (; n >= 64; p += 64, n -= 64) arb_sha256_block(s->h, p);
        memcpy(s->block, p, n);
        s->used = n;
    }

    /* the digest as 64 lowercase hex digits and a NUL (what hashlib's hexdigest gives) */
    static void arb_sha256_hex(arb_sha256* s, char out[65]) {
        static const char digits[] = "0123456789abcdef";
        uint64_t bits = s->bytes * 8;
        int i;
        s->block[s->used++] = 0x80;
        if (s->used > 56) {
            memset(s->block + s->used, 0, 64 - s->used);
            arb_sha256_block(s->h, s->block);
            s->used = 0;
        }
        memset(s->block + s->used, 0, 56 - s->used);
        for (i = 0; i < 8; i++) s->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
        arb_sha256_block(s->h, s->block);
        for (i = 0; i < 32; i++) {
            unsigned char byte = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
            out[2 * i] = digits[byte >> 4];
            out[2 * i + 1] = digits[byte & 15];
        }
        out[64] = 0;
    }

    /* ---- SQLite's C API, looked up at run time ------------------------------------------ */
    typedef struct sqlite3 sqlite3;
    typedef struct sqlite3_stmt sqlite3_stmt;
    #define ARB_SQLITE_OK 0
    #define ARB_SQLITE_DONE 101
    #define ARB_SQLITE_OPEN_READWRITE 0x00000002
    #define ARB_SQLITE_OPEN_NOMUTEX 0x00008000

    typedef struct {
        int (*open_v2)(const char*, sqlite3**, int, const char*);
        int (*close_v2)(sqlite3*);
        int (*exec)(sqlite3*, const char*, void*, void*, char**);
        int (*prepare_v2)(sqlite3*, const char*, int, sqlite3_stmt**, const char**);
        int (*bind_int64)(sqlite3_stmt*, int, int64_t);
        int (*bind_text)(sqlite3_stmt*, int, const char*, int, void (*)(void*));
        int (*step)(sqlite3_stmt*);
        int (*reset)(sqlite3_stmt*);
        int (*finalize)(sqlite3_stmt*);
        const char* (*errmsg)(sqlite3*);
        int (*busy_timeout)(sqlite3*, int);
    } arb_sqlite_api;

    /* 0, or the name of the first function not found */
    static const char* arb_sqlite_load(arb_sqlite_api* api, const char* library) {
        void* lib = dlopen(library, RTLD_NOW | RTLD_NOLOAD);
        if (lib == NULL) lib = dlopen(library, RTLD_NOW);
        if (lib == NULL) return "the sqlite3 module's library";
        #define ARB_FIND(field, name) \\
            if ((*(void**)&api->field = dlsym(lib, name)) == NULL) return name;
        ARB_FIND(open_v2, "sqlite3_open_v2") ARB_FIND(close_v2, "sqlite3_close_v2")
        ARB_FIND(exec, "sqlite3_exec") ARB_FIND(prepare_v2, "sqlite3_prepare_v2")
        ARB_FIND(bind_int64, "sqlite3_bind_int64") ARB_FIND(bind_text, "sqlite3_bind_text")
        ARB_FIND(step, "sqlite3_step") ARB_FIND(reset, "sqlite3_reset")
        ARB_FIND(finalize, "sqlite3_finalize") ARB_FIND(errmsg, "sqlite3_errmsg")
        ARB_FIND(busy_timeout, "sqlite3_busy_timeout")
        #undef ARB_FIND
        return 0;
    }

    /* ---- the writer ---------------------------------------------------------------------- */
    enum { ARB_KIND, ARB_TRACE, ARB_VENUE, ARB_SYMBOL, ARB_PAYLOAD, ARB_TEXTS };

    typedef struct arb_row {
        struct arb_row* next;
        int64_t seq, ts_ns;
        int len[ARB_TEXTS];
        const char* text[ARB_TEXTS];  /* UTF-8, in the same allocation after the struct */
    } arb_row;

    typedef struct {
        pthread_mutex_t lock;
        pthread_cond_t rows;     /* the writer: rows queued, commit_now, stopping */
        pthread_cond_t durable;  /* wait_durable: the durable sequence number moved, or failed */
        pthread_cond_t held;     /* the preparer: records held, stopping */
        arb_row* head;
        arb_row* tail;
        int now, stopping, failed;
        int64_t durable_seq, batches, held_count, interval_ns;
        int batch_max;
        char tip[65];
        char error[512];
        sqlite3* db;
        sqlite3_stmt* insert;
        arb_sqlite_api api;
    } arb_writer;

    static int arb_writer_init_sync(arb_writer* w) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->rows, &attr);
        pthread_cond_init(&w->durable, &attr);
        pthread_cond_init(&w->held, &attr);
        pthread_condattr_destroy(&attr);
        return 0;
    }

    static void arb_writer_destroy_sync(arb_writer* w) {
        pthread_cond_destroy(&w->rows);
        pthread_cond_destroy(&w->durable);
        pthread_cond_destroy(&w->held);
        pthread_mutex_destroy(&w->lock);
    }

    static void arb_deadline(struct timespec* at, int64_t after_ns) {
        clock_gettime(CLOCK_MONOTONIC, at);
        after_ns += at->tv_nsec;
        at->tv_sec += after_ns / 1000000000;
        at->tv_nsec = after_ns % 1000000000;
    }

    static void arb_fail(arb_writer* w, const char* what) {
        snprintf(w->error, sizeof w->error, "%s: %s", what,
                 w->db != NULL ? w->api.errmsg(w->db) : "no connection");
    }

    static void arb_free_rows(arb_row* row) {
        while (row != NULL) { arb_row* next = row->next; free(row); row = next; }
    }

    /* hash one row onto the chain (w->tip) and insert it; 0 on success */
    static int arb_write_row(arb_writer* w, const arb_row* row) {
        static const char sep = 0x1f;
        char number[2][24], digest[65];
        int lengths[2], i, rc;
        arb_sha256 sha;
        lengths[0] = snprintf(number[0], sizeof number[0], "%lld", (long long)row->seq);
        lengths[1] = snprintf(number[1], sizeof number[1], "%lld", (long long)row->ts_ns);
        arb_sha256_init(&sha);
        arb_sha256_update(&sha, w->tip, 64);
        for (i = 0; i < 2; i++) {
            arb_sha256_update(&sha, &sep, 1);
            arb_sha256_update(&sha, number[i], (size_t)lengths[i]);
        }
        for (i = 0; i < ARB_TEXTS; i++) {
            arb_sha256_update(&sha, &sep, 1);
            arb_sha256_update(&sha, row->text[i], (size_t)row->len[i]);
        }
        arb_sha256_hex(&sha, digest);
        sqlite3_stmt* st = w->insert;
        w->api.bind_int64(st, 1, row->seq);
        w->api.bind_int64(st, 2, row->ts_ns);
        for (i = 0; i < ARB_TEXTS; i++)
            w->api.bind_text(st, 3 + i, row->text[i], row->len[i], NULL);
        w->api.bind_text(st, 8, w->tip, 64, NULL);
        w->api.bind_text(st, 9, digest, 64, NULL);
        rc = w->api.step(st);
        w->api.reset(st);
        if (rc != ARB_SQLITE_DONE) return -1;
        memcpy(w->tip, digest, 65);
        return 0;
    }

    /* commit rows (freed here) in transactions of batch_max; 0, or -1 with w->error set */
    static int arb_commit(arb_writer* w, arb_row* rows) {
        while (rows != NULL) {
            arb_row* row = rows;
            arb_row* next;
            int n = 0;
            int64_t last = 0;
            char tip[65];
            memcpy(tip, w->tip, 65);
            if (w->api.exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != ARB_SQLITE_OK) {
                arb_fail(w, "BEGIN");
                arb_free_rows(rows);
                return -1;
            }
            for (; row != NULL && n < w->batch_max; row = next, n++) {
                next = row->next;
                last = row->seq;
                if (arb_write_row(w, row) != 0) {
                    char what[64];
                    snprintf(what, sizeof what, "INSERT of row %lld", (long long)row->seq);
                    arb_fail(w, what);
                    w->api.exec(w->db, "ROLLBACK", NULL, NULL, NULL);
                    memcpy(w->tip, tip, 65);
                    arb_free_rows(row);
                    return -1;
                }
                free(row);
            }
            rows = row;
            if (w->api.exec(w->db, "COMMIT", NULL, NULL, NULL) != ARB_SQLITE_OK) {
                arb_fail(w, "COMMIT");
                w->api.exec(w->db, "ROLLBACK", NULL, NULL, NULL);
                memcpy(w->tip, tip, 65);
                arb_free_rows(rows);
                return -1;
            }
            pthread_mutex_lock(&w->lock);
            w->durable_seq = last;
            w->batches += 1;
            pthread_cond_broadcast(&w->durable);
            pthread_mutex_unlock(&w->lock);
        }
        return 0;
    }

    /* the writer thread's body: until stopped (and drained) or failed */
    static void arb_writer_run(arb_writer* w) {
        struct timespec until;
        pthread_mutex_lock(&w->lock);
        for (;;) {
            while (w->head == NULL && !w->stopping) pthread_cond_wait(&w->rows, &w->lock);
            if (w->head == NULL) break;  /* stopping, and everything written */
            if (!w->now && !w->stopping) {  /* let the batch gather */
                arb_deadline(&until, w->interval_ns);
                while (!w->now && !w->stopping
                       && pthread_cond_timedwait(&w->rows, &w->lock, &until) != ETIMEDOUT) {}
            }
            w->now = 0;
            arb_row* rows = w->head;
            w->head = w->tail = NULL;
            pthread_mutex_unlock(&w->lock);
            int failed = arb_commit(w, rows);
            pthread_mutex_lock(&w->lock);
            if (failed) {
                w->failed = 1;
                arb_free_rows(w->head);
                w->head = w->tail = NULL;
                pthread_cond_broadcast(&w->durable);
                pthread_cond_broadcast(&w->held);
                break;
            }
        }
        pthread_mutex_unlock(&w->lock);
    }

    /* queue a row (taken over); 0, or -1 when the writer has failed (the row is freed) */
    static int arb_writer_push(arb_writer* w, arb_row* row) {
        int failed;
        row->next = NULL;
        pthread_mutex_lock(&w->lock);
        failed = w->failed;
        if (!failed) {
            if (w->tail != NULL) w->tail->next = row; else w->head = row;
            w->tail = row;
            pthread_cond_signal(&w->rows);
        }
        pthread_mutex_unlock(&w->lock);
        if (failed) free(row);
        return failed ? -1 : 0;
    }

    /* 1 when sequence number seq is durable, 0 at the timeout or on failure */
    static int arb_writer_wait_durable(arb_writer* w, int64_t seq, int64_t timeout_ns) {
        struct timespec until;
        int timed_out = 0, durable;
        arb_deadline(&until, timeout_ns);
        pthread_mutex_lock(&w->lock);
        while (w->durable_seq < seq && !w->failed && !timed_out)
            timed_out = pthread_cond_timedwait(&w->durable, &w->lock, &until) == ETIMEDOUT;
        durable = w->durable_seq >= seq;
        pthread_mutex_unlock(&w->lock);
        return durable;
    }

    /* the preparer's sleep: 1 when records are held after interval_ns (the idle hook did not
       make them rows in that time), 0 when stopping with none held or once the writer has
       failed (nothing made now could be written) */
    static int arb_writer_wait_held(arb_writer* w) {
        struct timespec until;
        int held;
        pthread_mutex_lock(&w->lock);
        for (;;) {
            while (w->held_count <= 0 && !w->stopping && !w->failed)
                pthread_cond_wait(&w->held, &w->lock);
            if (w->stopping || w->failed || w->held_count <= 0) break;
            arb_deadline(&until, w->interval_ns);
            while (w->held_count > 0 && !w->stopping && !w->now
                   && pthread_cond_timedwait(&w->held, &w->lock, &until) != ETIMEDOUT) {}
            if (w->held_count > 0) break;
        }
        held = w->held_count > 0 && !w->failed;
        pthread_mutex_unlock(&w->lock);
        return held;
    }

    static void arb_writer_held(arb_writer* w, int held) {
        pthread_mutex_lock(&w->lock);
        if (held && w->held_count == 0) pthread_cond_signal(&w->held);
        w->held_count = held != 0;
        pthread_mutex_unlock(&w->lock);
    }

    static void arb_writer_signal(arb_writer* w, int stop) {
        pthread_mutex_lock(&w->lock);
        if (stop) w->stopping = 1; else w->now = 1;
        pthread_cond_broadcast(&w->rows);
        pthread_cond_broadcast(&w->held);
        pthread_mutex_unlock(&w->lock);
    }

    static int64_t arb_writer_read(arb_writer* w, int which) {
        int64_t value;
        pthread_mutex_lock(&w->lock);
        value = which == 0 ? w->durable_seq : which == 1 ? w->batches : w->failed;
        pthread_mutex_unlock(&w->lock);
        return value;
    }
    """
    ctypedef struct sqlite3
    ctypedef struct sqlite3_stmt
    ctypedef struct arb_sha256:
        pass
    ctypedef struct arb_sqlite_api:
        int (*open_v2)(const char*, sqlite3**, int, const char*) nogil
        int (*close_v2)(sqlite3*) nogil
        int (*exec)(sqlite3*, const char*, void*, void*, char**) nogil
        int (*prepare_v2)(sqlite3*, const char*, int, sqlite3_stmt**, const char**) nogil
        int (*finalize)(sqlite3_stmt*) nogil
        int (*busy_timeout)(sqlite3*, int) nogil
    ctypedef struct arb_row:
        int64_t seq
        int64_t ts_ns
        int len[5]
        const char* text[5]
    ctypedef struct arb_writer:
        int64_t durable_seq
        int64_t interval_ns
        int batch_max
        char tip[65]
        char error[512]
        sqlite3* db
        sqlite3_stmt* insert
        arb_sqlite_api api
    int SQLITE_OK "ARB_SQLITE_OK"
    int SQLITE_OPEN_READWRITE "ARB_SQLITE_OPEN_READWRITE"
    int SQLITE_OPEN_NOMUTEX "ARB_SQLITE_OPEN_NOMUTEX"
    const char* arb_sqlite_load(arb_sqlite_api* api, const char* library)
    void arb_sha256_init(arb_sha256* s) nogil
    void arb_sha256_update(arb_sha256* s, const void* data, size_t n) nogil
    void arb_sha256_hex(arb_sha256* s, char* out) nogil
    int arb_writer_init_sync(arb_writer* w)
    void arb_writer_destroy_sync(arb_writer* w)
    void arb_fail(arb_writer* w, const char* what)
    void arb_writer_run(arb_writer* w) nogil
    int arb_writer_push(arb_writer* w, arb_row* row) nogil
    int arb_writer_wait_durable(arb_writer* w, int64_t seq, int64_t timeout_ns) nogil
    int arb_writer_wait_held(arb_writer* w) nogil
    void arb_writer_held(arb_writer* w, int held) nogil
    void arb_writer_signal(arb_writer* w, int stop) nogil
    int64_t arb_writer_read(arb_writer* w, int which) nogil

from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset

cdef const char* _INSERT = b"INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
cdef int64_t _FOREVER_NS = 10 ** 18


def sha256_hex(bytes data not None):
    """SHA-256 of ``data`` as 64 lowercase hex digits: the writer's own digest (what
    ``hashlib.sha256(data).hexdigest()`` gives), exposed so it can be held to hashlib."""
    cdef arb_sha256 sha
    cdef char out[65]
    arb_sha256_init(&sha)
    arb_sha256_update(&sha, <const char*>data, len(data))
    arb_sha256_hex(&sha, out)
    return out[:64].decode("ascii")


cdef class AuditWriter:
    """The trail's C writer over the SQLite file at ``path`` (the schema made already), the
    chain continuing from ``tip`` and ``last_seq`` (the last row's hash and number, or the
    genesis hash and 0), committing every ``interval_s`` at most ``batch_max`` rows a
    transaction, with ``PRAGMA synchronous`` = ``synchronous``."""

    cdef arb_writer w
    cdef bint _synced, _started, _finished

    def __cinit__(self, path, str synchronous not None, str tip not None, int64_t last_seq,
                  double interval_s, int batch_max):
        memset(&self.w, 0, sizeof(arb_writer))
        arb_writer_init_sync(&self.w)
        self._synced = True

    def __init__(self, path, str synchronous not None, str tip not None, int64_t last_seq,
                 double interval_s, int batch_max):
        cdef bytes location = str(path).encode()
        cdef bytes library = _sqlite3.__file__.encode()
        cdef bytes start = tip.encode("ascii")
        cdef const char* missing
        if len(start) != 64:
            raise ValueError(f"tip must be a 64-digit hash, was {tip!r}")
        if interval_s < 0 or batch_max < 1:
            raise ValueError("interval_s must be >= 0 and batch_max >= 1")
        missing = arb_sqlite_load(&self.w.api, library)
        if missing != NULL:
            raise RuntimeError(f"audit writer: SQLite's {missing.decode()} not found")
        memcpy(self.w.tip, <const char*>start, 64)
        self.w.tip[64] = 0
        self.w.durable_seq = last_seq
        self.w.interval_ns = <int64_t>(interval_s * 1e9)
        self.w.batch_max = batch_max
        if self.w.api.open_v2(location, &self.w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                              NULL) != SQLITE_OK:
            self._raise("open")
        self.w.api.busy_timeout(self.w.db, 5000)  # (what Python's sqlite3.connect sets)
        pragma = f"PRAGMA synchronous={synchronous}".encode()
        if self.w.api.exec(self.w.db, pragma, NULL, NULL, NULL) != SQLITE_OK:
            self._raise("PRAGMA synchronous")
        if self.w.api.prepare_v2(self.w.db, _INSERT, -1, &self.w.insert, NULL) != SQLITE_OK:
            self._raise("prepare INSERT")

    cdef int _raise(self, const char* what) except -1:
        arb_fail(&self.w, what)
        message = self.w.error.decode("utf-8", "replace")
        self.close()
        raise RuntimeError(f"audit writer: {message}")

    def run(self):
        """The writer thread's body: write until stopped (and everything queued written) or
        failed. Holds no GIL while it runs."""
        if self._started:
            raise RuntimeError("the audit writer runs once")
        self._started = True
        with nogil:
            arb_writer_run(&self.w)

    def push(self, int64_t seq, int64_t ts_ns, str kind not None, str trace_id not None,
             str venue not None, str symbol not None, str payload not None):
        """Queue one row (its texts copied); False when the writer has failed (not queued)."""
        cdef object texts = (kind, trace_id, venue, symbol, payload)
        cdef const char* data[5]
        cdef Py_ssize_t size[5]
        cdef Py_ssize_t total = sizeof(arb_row), i
        cdef arb_row* row
        cdef char* at
        for i in range(5):
            data[i] = PyUnicode_AsUTF8AndSize(texts[i], &size[i])
            if size[i] > 0x7fffffff:
                raise ValueError("an audit row's text is over 2 GB")
            total += size[i]
        row = <arb_row*>malloc(total)
        if row == NULL:
            raise MemoryError()
        row.seq, row.ts_ns = seq, ts_ns
        at = <char*>row + sizeof(arb_row)
        for i in range(5):
            memcpy(at, data[i], size[i])
            row.text[i], row.len[i] = at, <int>size[i]
            at += size[i]
        return arb_writer_push(&self.w, row) == 0

    def held(self, bint held):
        """Whether records are held (appended, not yet pushed): set when the first is
        appended, which wakes the preparer's :meth:`wait_held`, cleared when none is left."""
        arb_writer_held(&self.w, held)

    def wait_held(self):
        """Sleep (no GIL) until records are held and ``interval_s`` has passed (sooner after
        :meth:`commit_now`) with some still held: True; False when stopped with none held, or
        once the writer has failed."""
        cdef int held
        with nogil:
            held = arb_writer_wait_held(&self.w)
        return bool(held)

    def commit_now(self):
        """Commit what is queued now rather than after the interval (a flush)."""
        arb_writer_signal(&self.w, 0)

    def stop(self):
        """Write what is queued, then end :meth:`run` (and wake :meth:`wait_held`)."""
        arb_writer_signal(&self.w, 1)

    def wait_durable(self, int64_t seq, timeout_s=None):
        """Wait (no GIL) until row ``seq`` is committed: True, or False at the timeout (None:
        none) or once the writer has failed."""
        cdef int64_t timeout_ns = _FOREVER_NS if timeout_s is None else \
            <int64_t>(max(0.0, float(timeout_s)) * 1e9)
        cdef int durable
        with nogil:
            durable = arb_writer_wait_durable(&self.w, seq, timeout_ns)
        return bool(durable)

    @property
    def durable_seq(self):
        """The highest sequence number committed."""
        return arb_writer_read(&self.w, 0)

    @property
    def batches(self):
        """Transactions committed."""
        return arb_writer_read(&self.w, 1)

    @property
    def error(self):
        """Why the writer stopped (the statement and SQLite's message), or None."""
        if not arb_writer_read(&self.w, 2):
            return None
        return self.w.error.decode("utf-8", "replace")

    @property
    def tip(self):
        """The hash of the last row written (read it after :meth:`run` has returned)."""
        return self.w.tip[:64].decode("ascii")

    def close(self):
        """Release the statement and the connection (after :meth:`run` has returned)."""
        if self.w.insert != NULL:
            self.w.api.finalize(self.w.insert)
            self.w.insert = NULL
        if self.w.db != NULL:
            self.w.api.close_v2(self.w.db)
            self.w.db = NULL

    def __dealloc__(self):
        self.close()
        if self._synced:
            arb_writer_destroy_sync(&self.w)
