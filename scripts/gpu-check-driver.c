/*
 * gpu-check-driver: runs a library written by 'kiln compile' (any target, CUDA included) through
 * its C ABI, checks its outputs against reference .npy files and times it. Part of the GPU check
 * (docs/gpu-check.md); it needs only libc, libdl and libm, and opens libcuda.so.1 itself when
 * asked to time on the device. Build: gcc -O2 -std=gnu11 -o driver gpu-check-driver.c -ldl -lm
 *
 *   driver LIB.so [--input FILE.npy|seed:S]... [--ref REF.npy]... [--runs N] [--warmup N]
 *                 [--device] [--threads N] [--model NAME] [--batch B] [--atol A] [--rtol R]
 *                 [--budget-s S] [--spot-matmul N] [--profile] [--save-inputs DIR]
 *                 [--save-outputs DIR]
 *   driver LIB.so --info                      the library's inputs and outputs, one a line
 *   driver --delta-make OLD NEW DELTA         a delta that rebuilds NEW from OLD
 *   driver --delta-apply OLD DELTA NEW        rebuild NEW (checked against the size and hash in DELTA)
 *   driver --npy-rows IN.npy ROWS OUT.npy     the first ROWS rows (along the first axis) of IN
 *
 * Inputs are given in the order of the library's header, as .npy files (C order, the dtype and
 * shape the library declares) or as seed:S, a deterministic pseudo-random tensor (floats uniform
 * in [-1, 1) with 24-bit mantissas, integers in [0, 10)) that this program draws the same on every
 * machine. Without any --input every input is seed:1. References are given in output order; a
 * reference with fewer rows than the output (same shape otherwise) checks the first rows only.
 * An element passes if |a - b| <= atol + rtol * |b| (Kiln's tolerances against ONNX Runtime:
 * atol 1e-4, rtol 1e-3); NaN passes only against NaN.
 *
 * It runs kiln_model_run once on host buffers and checks the outputs; with --device it also
 * allocates device buffers (cuMemAlloc on the GPU of KILN_CUDA_DEVICE, default 0, in its primary
 * context, which is the one Kiln's CUDA executor uses), copies the inputs once, runs
 * kiln_model_run_device once and checks those outputs too, then times kiln_model_run_device;
 * without --device it times kiln_model_run. Each timed call is measured alone with
 * clock_gettime(CLOCK_MONOTONIC). --spot-matmul N checks a model Y = A x B of two 2-D inputs by
 * computing N sampled elements of Y in double precision (no reference file needed) and reports
 * TFLOP/s. --profile (CUDA libraries) runs once more on a second handle created with
 * KILN_CUDA_PROFILE=2: the library prints each kernel's time to stderr and the RESULT line gets
 * kernel_ms, the kernels' summed time.
 *
 * The last line is machine-readable:
 *   RESULT model=M batch=B impl=kiln path=device|host check=pass|FAIL|none maxabs=.. maxrel=..
 *          median_ms=.. min_ms=.. runs=N throughput=../s [kernel_ms=..] [tflops=..]
 * Exit status: 0 if the check passed (or there was nothing to check), 1 if an output differs,
 * 2 on any error (with a message naming what failed).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- errors --------------------------------------------------------------------------------- */

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gpu-check-driver: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xmalloc(size_t n) {
    void *p = NULL;
    /* 64-byte aligned, as the generated headers recommend; never a zero-size request. */
    if (posix_memalign(&p, 64, n ? n : 64) != 0) die("out of memory allocating %zu bytes", n);
    return p;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ---- files ---------------------------------------------------------------------------------- */

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) die("cannot seek in %s: %s", path, strerror(errno));
    long n = ftell(f);
    if (n < 0) die("cannot size %s: %s", path, strerror(errno));
    rewind(f);
    unsigned char *b = xmalloc((size_t) n);
    if (n > 0 && fread(b, 1, (size_t) n, f) != (size_t) n) die("cannot read %s: %s", path, strerror(errno));
    fclose(f);
    *size = (size_t) n;
    return b;
}

static void write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create %s: %s", path, strerror(errno));
    if (size && fwrite(data, 1, size, f) != size) die("cannot write %s: %s", path, strerror(errno));
    if (fclose(f) != 0) die("cannot write %s: %s", path, strerror(errno));
}

/* DIR/NAME.npy, with NAME spelled as 'kiln run' spells it (characters other than [A-Za-z0-9_.-] as '_'). */
static void npy_path(char *out, size_t n, const char *dir, const char *name) {
    char safe[256];
    size_t k = 0;
    for (; name[k] && k + 1 < sizeof safe; k++) {
        char c = name[k];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        safe[k] = ok ? c : '_';
    }
    safe[k] = 0;
    if (!k || !strcmp(safe, ".") || !strcmp(safe, "..")) snprintf(safe, sizeof safe, "output");
    if ((size_t) snprintf(out, n, "%s/%s.npy", dir, safe) >= n) die("path too long: %s/%s.npy", dir, safe);
}

static void make_dir(const char *path) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die("cannot create directory %s: %s", path, strerror(errno));
}

/* ---- dtypes and tensors ----------------------------------------------------------------------- */

#define MAX_RANK 8
#define MAX_IO 64

typedef struct {
    const char *kiln; /* the name in Kiln's metadata */
    const char *npy;  /* the .npy descr (little-endian machine) */
    int bytes;
    int is_float;
} DType;

static const DType DTYPES[] = {
    {"float32", "<f4", 4, 1}, {"float64", "<f8", 8, 1}, {"float16", "<f2", 2, 1},
    {"int8", "|i1", 1, 0},    {"uint8", "|u1", 1, 0},   {"int16", "<i2", 2, 0},
    {"int32", "<i4", 4, 0},   {"int64", "<i8", 8, 0},   {"bool", "|b1", 1, 0},
};

static const DType *dtype_by_kiln(const char *name) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].kiln, name) == 0) return &DTYPES[i];
    return NULL;
}

static const DType *dtype_by_npy(const char *descr) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++) {
        const char *d = DTYPES[i].npy;
        /* '<f4', '=f4' and '|u1' style prefixes all mean native order here (little-endian x86/ARM). */
        if (strcmp(d + 1, descr + 1) == 0 && (descr[0] == d[0] || descr[0] == '=' || descr[0] == '|' || descr[0] == '<')) return &DTYPES[i];
    }
    return NULL;
}

typedef struct {
    char name[256];
    const DType *dtype;
    int rank;
    int64_t shape[MAX_RANK];
    size_t count; /* elements */
    size_t bytes;
} TensorInfo;

static void shape_str(const int64_t *shape, int rank, char *out, size_t n) {
    size_t k = (size_t) snprintf(out, n, "[");
    for (int i = 0; i < rank && k < n; i++) k += (size_t) snprintf(out + k, n - k, i ? ",%lld" : "%lld", (long long) shape[i]);
    if (k < n) snprintf(out + k, n - k, "]");
}

/* ---- the metadata JSON: {"inputs":[{"name","dtype","shape"}],"outputs":[...]} ------------------- */

typedef struct {
    const char *s;
    const char *what;
} Json;

static void jskip(Json *j) {
    while (*j->s == ' ' || *j->s == '\n' || *j->s == '\t' || *j->s == '\r') j->s++;
}

static void jexpect(Json *j, char c) {
    jskip(j);
    if (*j->s != c) die("%s: malformed metadata JSON: expected '%c' at \"%.40s\"", j->what, c, j->s);
    j->s++;
}

static void jstring(Json *j, char *out, size_t n) {
    jexpect(j, '"');
    size_t k = 0;
    while (*j->s && *j->s != '"') {
        char c = *j->s++;
        if (c == '\\') {
            c = *j->s++;
            if (c == 'u') { /* keep it readable: non-ASCII names become '?' */
                for (int i = 0; i < 4 && *j->s; i++) j->s++;
                c = '?';
            } else if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
            else if (c == 0) die("%s: malformed metadata JSON: unterminated string", j->what);
        }
        if (k + 1 < n) out[k++] = c;
    }
    if (*j->s != '"') die("%s: malformed metadata JSON: unterminated string", j->what);
    j->s++;
    out[k] = 0;
}

static void jvalue_skip(Json *j) {
    jskip(j);
    char c = *j->s;
    if (c == '"') {
        char tmp[1024];
        jstring(j, tmp, sizeof tmp);
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->s++;
        jskip(j);
        if (*j->s == close) { j->s++; return; }
        for (;;) {
            if (c == '{') {
                char key[256];
                jstring(j, key, sizeof key);
                jexpect(j, ':');
            }
            jvalue_skip(j);
            jskip(j);
            if (*j->s == ',') { j->s++; continue; }
            jexpect(j, close);
            return;
        }
    } else {
        while (*j->s && *j->s != ',' && *j->s != '}' && *j->s != ']') j->s++;
    }
}

/* Parses an array of tensor objects into infos; returns how many. */
static int jtensors(Json *j, TensorInfo *infos, const char *kind) {
    int n = 0;
    jexpect(j, '[');
    jskip(j);
    if (*j->s == ']') { j->s++; return 0; }
    for (;;) {
        if (n >= MAX_IO) die("%s: more than %d %s", j->what, MAX_IO, kind);
        TensorInfo *t = &infos[n];
        memset(t, 0, sizeof *t);
        char dtype[64] = "";
        int have_shape = 0;
        jexpect(j, '{');
        jskip(j);
        while (*j->s != '}') {
            char key[64];
            jstring(j, key, sizeof key);
            jexpect(j, ':');
            if (strcmp(key, "name") == 0) jstring(j, t->name, sizeof t->name);
            else if (strcmp(key, "dtype") == 0) jstring(j, dtype, sizeof dtype);
            else if (strcmp(key, "shape") == 0) {
                have_shape = 1;
                jexpect(j, '[');
                jskip(j);
                while (*j->s != ']') {
                    jskip(j);
                    if (*j->s == '"' ) die("%s: %s '%s' has a symbolic dimension; compile it with --input-shape", j->what, kind, t->name);
                    char *end;
                    long long d = strtoll(j->s, &end, 10);
                    if (end == j->s || d < 0) die("%s: %s '%s' has a dynamic or malformed dimension", j->what, kind, t->name);
                    if (t->rank >= MAX_RANK) die("%s: %s '%s' has rank above %d", j->what, kind, t->name, MAX_RANK);
                    t->shape[t->rank++] = d;
                    j->s = end;
                    jskip(j);
                    if (*j->s == ',') j->s++;
                    jskip(j);
                }
                j->s++;
            } else jvalue_skip(j);
            jskip(j);
            if (*j->s == ',') { j->s++; jskip(j); }
        }
        j->s++;
        if (!have_shape) die("%s: %s '%s' has no shape in the metadata", j->what, kind, t->name);
        t->dtype = dtype_by_kiln(dtype);
        if (!t->dtype) die("%s: %s '%s' has dtype '%s', which this driver does not handle", j->what, kind, t->name, dtype);
        t->count = 1;
        for (int i = 0; i < t->rank; i++) t->count *= (size_t) t->shape[i];
        t->bytes = t->count * (size_t) t->dtype->bytes;
        n++;
        jskip(j);
        if (*j->s == ',') { j->s++; continue; }
        jexpect(j, ']');
        return n;
    }
}

static void parse_metadata(const char *json, const char *lib, TensorInfo *ins, int *nin, TensorInfo *outs, int *nout) {
    Json j = {json, lib};
    *nin = *nout = -1;
    jexpect(&j, '{');
    jskip(&j);
    while (*j.s != '}') {
        char key[64];
        jstring(&j, key, sizeof key);
        jexpect(&j, ':');
        if (strcmp(key, "inputs") == 0) *nin = jtensors(&j, ins, "input");
        else if (strcmp(key, "outputs") == 0) *nout = jtensors(&j, outs, "output");
        else jvalue_skip(&j);
        jskip(&j);
        if (*j.s == ',') { j.s++; jskip(&j); }
        else if (*j.s != '}') die("%s: malformed metadata JSON near \"%.40s\"", lib, j.s);
    }
    if (*nin < 0 || *nout < 0) die("%s: the metadata JSON lacks \"inputs\" or \"outputs\"", lib);
}

/* ---- .npy ------------------------------------------------------------------------------------- */

typedef struct {
    const DType *dtype;
    int rank;
    int64_t shape[MAX_RANK];
    size_t count;
    unsigned char *file; /* the whole file; data points into it */
    unsigned char *data;
} Npy;

static const char *dict_value(const char *header, const char *key) {
    const char *p = strstr(header, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == ':') p++;
    return p;
}

static Npy npy_read(const char *path) {
    Npy a;
    memset(&a, 0, sizeof a);
    size_t size;
    unsigned char *b = read_file(path, &size);
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0) die("%s: not a .npy file (no \\x93NUMPY magic)", path);
    size_t hlen, start;
    if (b[6] == 1) {
        hlen = b[8] | (size_t) b[9] << 8;
        start = 10;
    } else if (b[6] == 2 || b[6] == 3) {
        if (size < 12) die("%s: truncated .npy header", path);
        hlen = b[8] | (size_t) b[9] << 8 | (size_t) b[10] << 16 | (size_t) b[11] << 24;
        start = 12;
    } else die("%s: .npy format version %d is not supported", path, b[6]);
    if (start + hlen > size) die("%s: truncated .npy header", path);
    char *header = malloc(hlen + 1);
    memcpy(header, b + start, hlen);
    header[hlen] = 0;

    const char *d = dict_value(header, "'descr'");
    const char *f = dict_value(header, "'fortran_order'");
    const char *s = dict_value(header, "'shape'");
    if (!d || !f || !s || *d != '\'' || *s != '(') die("%s: malformed .npy header: %s", path, header);
    char descr[16] = "";
    size_t k = 0;
    for (d++; *d && *d != '\'' && k + 1 < sizeof descr; d++) descr[k++] = *d;
    descr[k] = 0;
    a.dtype = dtype_by_npy(descr);
    if (!a.dtype) die("%s: dtype '%s' is not supported (expected little-endian float32, float64, float16 or an integer type)", path, descr);
    if (strncmp(f, "True", 4) == 0) die("%s: Fortran-order arrays are not supported; save it in C order", path);
    a.count = 1;
    for (s++;;) {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0) die("%s: malformed shape in .npy header: %s", path, header);
        if (a.rank >= MAX_RANK) die("%s: rank above %d", path, MAX_RANK);
        a.shape[a.rank++] = v;
        a.count *= (size_t) v;
        s = end;
    }
    free(header);
    size_t need = a.count * (size_t) a.dtype->bytes;
    if (size - start - hlen < need) die("%s: the data is truncated: %zu bytes for a shape that needs %zu", path, size - start - hlen, need);
    a.file = b;
    a.data = b + start + hlen;
    return a;
}

static void npy_write(const char *path, const DType *dt, const int64_t *shape, int rank, const void *data) {
    char dict[512], sh[256];
    size_t k = (size_t) snprintf(sh, sizeof sh, "(");
    for (int i = 0; i < rank; i++) k += (size_t) snprintf(sh + k, sizeof sh - k, rank == 1 ? "%lld," : i + 1 < rank ? "%lld, " : "%lld", (long long) shape[i]);
    snprintf(sh + k, sizeof sh - k, ")");
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", dt->npy, sh);
    size_t total = 10 + (size_t) n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t) n + pad + 1;
    size_t count = 1;
    for (int i = 0; i < rank; i++) count *= (size_t) shape[i];
    size_t bytes = count * (size_t) dt->bytes;
    unsigned char *buf = xmalloc(10 + hlen + bytes);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char) (hlen & 0xff);
    buf[9] = (unsigned char) (hlen >> 8);
    memcpy(buf + 10, dict, (size_t) n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    memcpy(buf + 10 + hlen, data, bytes);
    write_file(path, buf, 10 + hlen + bytes);
    free(buf);
}

/* ---- deterministic random inputs ---------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Input k of seed S: floats in [-1, 1) that are exact in float16 and up (24-bit draws), ints in [0, 10). */
static void fill_random(const TensorInfo *t, uint64_t seed, int k, void *out) {
    uint64_t st = seed * 0x100000001B3ULL + (uint64_t) k * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < t->count; i++) {
        uint64_t r = splitmix64(&st);
        double u = (double) (r >> 40) / 16777216.0 * 2.0 - 1.0;
        int v = (int) ((r >> 32) % 10);
        switch (t->dtype->bytes * 16 + t->dtype->is_float) {
            case 4 * 16 + 1: ((float *) out)[i] = (float) u; break;
            case 8 * 16 + 1: ((double *) out)[i] = u; break;
            case 2 * 16 + 1: { /* float16: u has at most 24 significant bits; round to 11 via float */
                float x = (float) u;
                uint32_t b;
                memcpy(&b, &x, 4);
                uint16_t h = (uint16_t) ((b >> 16) & 0x8000);
                int e = (int) ((b >> 23) & 0xff) - 127 + 15;
                if (x == 0 || e <= 0) h |= 0; /* tiny values flush to signed zero */
                else h |= (uint16_t) (e << 10 | ((b >> 13) & 0x3ff));
                ((uint16_t *) out)[i] = h;
                break;
            }
            case 1 * 16: if (!strcmp(t->dtype->kiln, "bool")) ((uint8_t *) out)[i] = (uint8_t) (v & 1); else ((uint8_t *) out)[i] = (uint8_t) v; break;
            case 2 * 16: ((int16_t *) out)[i] = (int16_t) v; break;
            case 4 * 16: ((int32_t *) out)[i] = v; break;
            case 8 * 16: ((int64_t *) out)[i] = v; break;
            default: die("cannot draw random values of dtype %s", t->dtype->kiln);
        }
    }
}

static double element(const DType *dt, const void *data, size_t i) {
    if (dt->is_float) {
        if (dt->bytes == 4) return ((const float *) data)[i];
        if (dt->bytes == 8) return ((const double *) data)[i];
        uint16_t h = ((const uint16_t *) data)[i];
        int e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
        return (h & 0x8000) ? -v : v;
    }
    switch (dt->bytes) {
        case 1: return dt->npy[1] == 'i' ? ((const int8_t *) data)[i] : ((const uint8_t *) data)[i];
        case 2: return ((const int16_t *) data)[i];
        case 4: return ((const int32_t *) data)[i];
        default: return (double) ((const int64_t *) data)[i];
    }
}

/* ---- comparison ----------------------------------------------------------------------------------- */

typedef struct {
    double maxabs, maxrel;
    size_t bad, checked;
    size_t first_bad;
    double bad_a, bad_b;
} Cmp;

static void compare(Cmp *c, const DType *dt, const void *actual, const void *expected, const DType *edt, size_t n, double atol, double rtol) {
    for (size_t i = 0; i < n; i++) {
        double a = element(dt, actual, i), b = element(edt, expected, i);
        double d = fabs(a - b);
        int ok = (isnan(a) && isnan(b)) || a == b || d <= atol + rtol * fabs(b);
        if (!isnan(d)) {
            if (d > c->maxabs) c->maxabs = d;
            double rel = d / fmax(fabs(b), 1e-30);
            if (fabs(b) > atol && rel > c->maxrel) c->maxrel = rel;
        }
        if (!ok) {
            if (c->bad == 0) {
                c->first_bad = i;
                c->bad_a = a;
                c->bad_b = b;
            }
            c->bad++;
        }
    }
    c->checked += n;
}

/* ---- the CUDA driver API, opened only with --device ----------------------------------------------- */

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef unsigned long long CUdeviceptr;

static struct {
    CUresult (*Init)(unsigned);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*PrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*PrimaryCtxRelease)(CUdevice);
    CUresult (*CtxPushCurrent)(CUcontext);
    CUresult (*CtxPopCurrent)(CUcontext *);
    CUresult (*CtxSynchronize)(void);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t);
    CUresult (*GetErrorString)(CUresult, const char **);
} cu;

static const char *cu_error(CUresult r) {
    const char *s = NULL;
    if (cu.GetErrorString && cu.GetErrorString(r, &s) == 0 && s) return s;
    static char buf[32];
    snprintf(buf, sizeof buf, "CUresult %d", r);
    return buf;
}

#define CU(call, what) do { CUresult r_ = (call); if (r_ != 0) die("%s failed: %s", what, cu_error(r_)); } while (0)

static CUdevice open_cuda(char *name, size_t n) {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) die("--device: cannot open the NVIDIA driver libcuda.so.1 (%s)", dlerror());
#define SYM(field, sym) if (!(*(void **) &cu.field = dlsym(lib, sym))) die("--device: libcuda.so.1 has no %s", sym);
    SYM(Init, "cuInit")
    SYM(DeviceGetCount, "cuDeviceGetCount")
    SYM(DeviceGet, "cuDeviceGet")
    SYM(DeviceGetName, "cuDeviceGetName")
    SYM(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain")
    SYM(PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2")
    SYM(CtxPushCurrent, "cuCtxPushCurrent_v2")
    SYM(CtxPopCurrent, "cuCtxPopCurrent_v2")
    SYM(CtxSynchronize, "cuCtxSynchronize")
    SYM(MemAlloc, "cuMemAlloc_v2")
    SYM(MemFree, "cuMemFree_v2")
    SYM(MemcpyHtoD, "cuMemcpyHtoD_v2")
    SYM(MemcpyDtoH, "cuMemcpyDtoH_v2")
    SYM(MemsetD8, "cuMemsetD8_v2")
    SYM(GetErrorString, "cuGetErrorString")
#undef SYM
    CU(cu.Init(0), "cuInit");
    int count = 0, index = 0;
    CU(cu.DeviceGetCount(&count), "cuDeviceGetCount");
    const char *env = getenv("KILN_CUDA_DEVICE");
    if (env && *env) {
        char *end;
        index = (int) strtol(env, &end, 10);
        if (*end || index < 0) die("KILN_CUDA_DEVICE=%s is not a device index", env);
    }
    if (index >= count) die("KILN_CUDA_DEVICE=%d, but this machine has %d GPU(s)", index, count);
    CUdevice dev;
    CU(cu.DeviceGet(&dev, index), "cuDeviceGet");
    CU(cu.DeviceGetName(name, (int) n, dev), "cuDeviceGetName");
    return dev;
}

/* ---- the Kiln library ------------------------------------------------------------------------------ */

typedef struct KilnModel KilnModel;

static struct {
    KilnModel *(*create)(int);
    int (*run)(KilnModel *, const void *const *, void *const *);
    int (*run_device)(KilnModel *, const void *const *, void *const *);
    void (*destroy)(KilnModel *);
    const char *(*last_error)(void);
    const char *(*metadata)(void);
    double (*device_ms)(const KilnModel *);
} kiln;

static void open_kiln(const char *path) {
    /* dlopen searches the library path for a bare name; make a relative path explicit. */
    char buf[4096];
    if (!strchr(path, '/')) {
        snprintf(buf, sizeof buf, "./%s", path);
        path = buf;
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) die("cannot load %s: %s", path, dlerror());
#define SYM(field, sym) if (!(*(void **) &kiln.field = dlsym(lib, sym))) die("%s has no %s: is it a library written by 'kiln compile'?", path, sym);
    SYM(create, "kiln_model_create")
    SYM(run, "kiln_model_run")
    SYM(destroy, "kiln_model_destroy")
    SYM(last_error, "kiln_model_last_error")
    SYM(metadata, "kiln_model_metadata")
#undef SYM
    *(void **) &kiln.run_device = dlsym(lib, "kiln_model_run_device");
    *(void **) &kiln.device_ms = dlsym(lib, "kiln_model_device_ms");
}

static const char *kiln_error(void) {
    const char *e = kiln.last_error();
    return e && *e ? e : "(kiln_model_last_error is empty)";
}

/* ---- delta files: rebuild a library from a similar one (batch 32 from batch 1: same weights) ------ */

#define DELTA_MAGIC "KILNDLT1"
#define BLOCK 64

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t block_hash(const unsigned char *p) { return fnv1a(p, BLOCK); }

typedef struct {
    unsigned char *p;
    size_t n, cap;
} Buf;

static void put(Buf *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 4096;
        b->p = realloc(b->p, b->cap);
        if (!b->p) die("out of memory");
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put64(Buf *b, uint64_t v) { put(b, &v, 8); }

static void flush_literal(Buf *out, const unsigned char *nw, size_t from, size_t to) {
    if (to <= from) return;
    unsigned char op = 2;
    put(out, &op, 1);
    put64(out, to - from);
    put(out, nw + from, to - from);
}

static int delta_make(const char *old_path, const char *new_path, const char *delta_path) {
    size_t on, nn;
    unsigned char *old = read_file(old_path, &on), *nw = read_file(new_path, &nn);
    /* Index OLD's aligned blocks by hash (open addressing; the first block with a hash wins). */
    size_t blocks = on / BLOCK, cap = 1;
    while (cap < blocks * 2 + 2) cap <<= 1;
    uint64_t *keys = calloc(cap, 8);
    int64_t *offs = malloc(cap * 8);
    if (!keys || !offs) die("out of memory");
    for (size_t i = 0; i < cap; i++) offs[i] = -1;
    for (size_t b = 0; b < blocks; b++) {
        uint64_t h = block_hash(old + b * BLOCK);
        size_t s = h & (cap - 1);
        while (offs[s] >= 0 && keys[s] != h) s = (s + 1) & (cap - 1);
        if (offs[s] < 0) { keys[s] = h; offs[s] = (int64_t) (b * BLOCK); }
    }
    Buf out = {0};
    put(&out, DELTA_MAGIC, 8);
    put64(&out, on);
    put64(&out, fnv1a(old, on));
    put64(&out, nn);
    put64(&out, fnv1a(nw, nn));
    size_t p = 0, lit = 0;
    while (p + BLOCK <= nn) {
        uint64_t h = block_hash(nw + p);
        size_t s = h & (cap - 1);
        int64_t found = -1;
        while (offs[s] >= 0) {
            if (keys[s] == h) { found = offs[s]; break; }
            s = (s + 1) & (cap - 1);
        }
        if (found >= 0 && memcmp(old + found, nw + p, BLOCK) == 0) {
            size_t o = (size_t) found, len = BLOCK;
            while (p + len < nn && o + len < on && old[o + len] == nw[p + len]) len++;
            /* Grow backwards into the pending literal. */
            while (p > lit && o > 0 && old[o - 1] == nw[p - 1]) { p--; o--; len++; }
            flush_literal(&out, nw, lit, p);
            unsigned char op = 1;
            put(&out, &op, 1);
            put64(&out, o);
            put64(&out, len);
            p += len;
            lit = p;
        } else p++;
    }
    flush_literal(&out, nw, lit, nn);
    unsigned char end = 0;
    put(&out, &end, 1);
    write_file(delta_path, out.p, out.n);
    printf("delta %s -> %s: %zu bytes for %zu (%.1f%%)\n", old_path, new_path, out.n, nn, 100.0 * out.n / (nn ? nn : 1));
    return 0;
}

static int delta_apply(const char *old_path, const char *delta_path, const char *new_path) {
    size_t on, dn;
    unsigned char *old = read_file(old_path, &on), *d = read_file(delta_path, &dn);
    if (dn < 41 || memcmp(d, DELTA_MAGIC, 8) != 0) die("%s: not a delta written by --delta-make", delta_path);
    uint64_t hdr[4];
    memcpy(hdr, d + 8, 32);
    if (hdr[0] != on || hdr[1] != fnv1a(old, on))
        die("%s was made from another file than %s (size %llu, expected %llu, or a different hash)", delta_path, old_path, (unsigned long long) on, (unsigned long long) hdr[0]);
    unsigned char *nw = xmalloc(hdr[2]);
    size_t q = 40, p = 0;
    for (;;) {
        if (q >= dn) die("%s: truncated delta", delta_path);
        unsigned char op = d[q++];
        if (op == 0) break;
        uint64_t a, b;
        if (op == 1) {
            if (q + 16 > dn) die("%s: truncated delta", delta_path);
            memcpy(&a, d + q, 8);
            memcpy(&b, d + q + 8, 8);
            q += 16;
            if (a + b > on || p + b > hdr[2]) die("%s: corrupt delta (copy out of range)", delta_path);
            memcpy(nw + p, old + a, b);
            p += b;
        } else if (op == 2) {
            if (q + 8 > dn) die("%s: truncated delta", delta_path);
            memcpy(&b, d + q, 8);
            q += 8;
            if (q + b > dn || p + b > hdr[2]) die("%s: corrupt delta (data out of range)", delta_path);
            memcpy(nw + p, d + q, b);
            q += b;
            p += b;
        } else die("%s: corrupt delta (op %d)", delta_path, op);
    }
    if (p != hdr[2] || fnv1a(nw, p) != hdr[3]) die("%s: the rebuilt file does not match the recorded size and hash", delta_path);
    write_file(new_path, nw, p);
    chmod(new_path, 0755);
    return 0;
}

static int npy_rows(const char *in, const char *rows_s, const char *out) {
    Npy a = npy_read(in);
    char *end;
    long long rows = strtoll(rows_s, &end, 10);
    if (*end || rows < 1) die("--npy-rows: '%s' is not a positive row count", rows_s);
    if (a.rank < 1) die("--npy-rows: %s is a scalar", in);
    if (rows > a.shape[0]) rows = a.shape[0];
    int64_t shape[MAX_RANK];
    memcpy(shape, a.shape, sizeof shape);
    shape[0] = rows;
    npy_write(out, a.dtype, shape, a.rank, a.data);
    return 0;
}

/* ---- main ------------------------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static const char *base_name(const char *path, char *out, size_t n) {
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    snprintf(out, n, "%s", s);
    char *dot = strstr(out, ".so");
    if (dot && dot[3] == 0) *dot = 0;
    return out;
}

static void usage(void) {
    fputs("usage: driver LIB.so [--input FILE.npy|seed:S]... [--ref REF.npy]... [--runs N] [--warmup N] [--device]\n"
          "                     [--threads N] [--model NAME] [--batch B] [--atol A] [--rtol R] [--budget-s S]\n"
          "                     [--spot-matmul N] [--profile] [--save-inputs DIR] [--save-outputs DIR]\n"
          "       driver LIB.so --info\n"
          "       driver --delta-make OLD NEW DELTA | --delta-apply OLD DELTA NEW | --npy-rows IN.npy ROWS OUT.npy\n"
          "(see the comment at the top of gpu-check-driver.c)\n", stderr);
    exit(2);
}

static long parse_long(const char *opt, const char *s, long min) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min) die("%s %s: expected an integer of at least %ld", opt, s, min);
    return v;
}

static double parse_double(const char *opt, const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= 0)) die("%s %s: expected a non-negative number", opt, s);
    return v;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--delta-make") == 0) {
        if (argc != 5) usage();
        return delta_make(argv[2], argv[3], argv[4]);
    }
    if (argc >= 2 && strcmp(argv[1], "--delta-apply") == 0) {
        if (argc != 5) usage();
        return delta_apply(argv[2], argv[3], argv[4]);
    }
    if (argc >= 2 && strcmp(argv[1], "--npy-rows") == 0) {
        if (argc != 5) usage();
        return npy_rows(argv[2], argv[3], argv[4]);
    }
    if (argc < 2 || argv[1][0] == '-') usage();

    const char *lib = argv[1];
    const char *input_args[MAX_IO], *ref_args[MAX_IO];
    int n_input_args = 0, n_ref_args = 0;
    long runs = 20, warmup = 3, threads = 0, spot = 0, batch = -1;
    int device = 0, profile = 0, info = 0;
    double atol = 1e-4, rtol = 1e-3, budget_s = 30;
    const char *model = NULL, *save_inputs = NULL, *save_outputs = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE if (!v) die("%s needs a value", a); i++;
        if (!strcmp(a, "--input")) { NEED_VALUE if (n_input_args == MAX_IO) die("too many --input"); input_args[n_input_args++] = v; }
        else if (!strcmp(a, "--ref")) { NEED_VALUE if (n_ref_args == MAX_IO) die("too many --ref"); ref_args[n_ref_args++] = v; }
        else if (!strcmp(a, "--runs")) { NEED_VALUE runs = parse_long(a, v, 0); }
        else if (!strcmp(a, "--warmup")) { NEED_VALUE warmup = parse_long(a, v, 0); }
        else if (!strcmp(a, "--threads")) { NEED_VALUE threads = parse_long(a, v, 0); }
        else if (!strcmp(a, "--batch")) { NEED_VALUE batch = parse_long(a, v, 1); }
        else if (!strcmp(a, "--spot-matmul")) { NEED_VALUE spot = parse_long(a, v, 1); }
        else if (!strcmp(a, "--model")) { NEED_VALUE model = v; }
        else if (!strcmp(a, "--atol")) { NEED_VALUE atol = parse_double(a, v); }
        else if (!strcmp(a, "--rtol")) { NEED_VALUE rtol = parse_double(a, v); }
        else if (!strcmp(a, "--budget-s")) { NEED_VALUE budget_s = parse_double(a, v); }
        else if (!strcmp(a, "--save-inputs")) { NEED_VALUE save_inputs = v; }
        else if (!strcmp(a, "--save-outputs")) { NEED_VALUE save_outputs = v; }
        else if (!strcmp(a, "--device")) device = 1;
        else if (!strcmp(a, "--profile")) profile = 1;
        else if (!strcmp(a, "--info")) info = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage();
        else die("unknown option '%s' (--help lists them)", a);
#undef NEED_VALUE
    }

    open_kiln(lib);
    TensorInfo ins[MAX_IO], outs[MAX_IO];
    int nin, nout;
    parse_metadata(kiln.metadata(), lib, ins, &nin, outs, &nout);
    if (info) {
        for (int k = 0; k < nin + nout; k++) {
            TensorInfo *t = k < nin ? &ins[k] : &outs[k - nin];
            char sh[256];
            shape_str(t->shape, t->rank, sh, sizeof sh);
            printf("%s %s %s %s %zu\n", k < nin ? "input" : "output", t->name, t->dtype->kiln, sh, t->bytes);
        }
        return 0;
    }
    char label[256];
    if (!model) model = base_name(lib, label, sizeof label);
    if (batch < 0) batch = nin > 0 && ins[0].rank > 0 ? ins[0].shape[0] : 1;

    /* Inputs. */
    if (n_input_args != 0 && n_input_args != nin) {
        fprintf(stderr, "gpu-check-driver: error: %s has %d input(s) and %d --input were given; its inputs are:\n", lib, nin, n_input_args);
        for (int k = 0; k < nin; k++) {
            char sh[256];
            shape_str(ins[k].shape, ins[k].rank, sh, sizeof sh);
            fprintf(stderr, "  %d %s %s%s\n", k, ins[k].name, ins[k].dtype->kiln, sh);
        }
        return 2;
    }
    void *in_data[MAX_IO];
    for (int k = 0; k < nin; k++) {
        const char *arg = n_input_args ? input_args[k] : "seed:1";
        TensorInfo *t = &ins[k];
        if (strncmp(arg, "seed:", 5) == 0) {
            uint64_t seed = (uint64_t) parse_long("--input seed:", arg + 5, 0);
            in_data[k] = xmalloc(t->bytes);
            fill_random(t, seed, k, in_data[k]);
        } else {
            Npy a = npy_read(arg);
            int same = a.rank == t->rank && a.dtype == t->dtype;
            for (int i = 0; same && i < a.rank; i++) same = a.shape[i] == t->shape[i];
            if (!same) {
                char s1[256], s2[256];
                shape_str(a.shape, a.rank, s1, sizeof s1);
                shape_str(t->shape, t->rank, s2, sizeof s2);
                die("input %d '%s': %s holds %s%s, but the library expects %s%s", k, t->name, arg, a.dtype->kiln, s1, t->dtype->kiln, s2);
            }
            in_data[k] = xmalloc(t->bytes);
            memcpy(in_data[k], a.data, t->bytes);
            free(a.file);
        }
        if (save_inputs) {
            char path[4096];
            make_dir(save_inputs);
            npy_path(path, sizeof path, save_inputs, t->name);
            npy_write(path, t->dtype, t->shape, t->rank, in_data[k]);
        }
    }

    /* References. */
    if (n_ref_args > nout) die("%d --ref given, but %s has %d output(s)", n_ref_args, lib, nout);
    Npy refs[MAX_IO];
    size_t ref_count[MAX_IO];
    for (int k = 0; k < n_ref_args; k++) {
        refs[k] = npy_read(ref_args[k]);
        TensorInfo *t = &outs[k];
        int ok = refs[k].rank == t->rank && refs[k].rank > 0 && refs[k].shape[0] <= t->shape[0];
        for (int i = 1; ok && i < t->rank; i++) ok = refs[k].shape[i] == t->shape[i];
        if (t->rank == 0) ok = refs[k].rank == 0;
        if (!ok) {
            char s1[256], s2[256];
            shape_str(refs[k].shape, refs[k].rank, s1, sizeof s1);
            shape_str(t->shape, t->rank, s2, sizeof s2);
            die("--ref %s: shape %s does not fit output %d '%s' %s (it must be that shape, or fewer rows of it)", ref_args[k], s1, k, t->name, s2);
        }
        ref_count[k] = refs[k].count;
    }
    if (spot && (nin != 2 || nout != 1 || ins[0].rank != 2 || ins[1].rank != 2 || outs[0].rank != 2 || ins[0].shape[1] != ins[1].shape[0]
                 || strcmp(ins[0].dtype->kiln, "float32") || strcmp(ins[1].dtype->kiln, "float32") || strcmp(outs[0].dtype->kiln, "float32")))
        die("--spot-matmul: %s is not Y[M,N] = A[M,K] x B[K,N] of float32 tensors", lib);

    /* The host path: create, run once, check. */
    KilnModel *m = kiln.create((int) threads);
    if (!m) die("kiln_model_create(%ld) failed: %s", threads, kiln_error());
    void *out_data[MAX_IO];
    for (int k = 0; k < nout; k++) {
        out_data[k] = xmalloc(outs[k].bytes);
        memset(out_data[k], 0xff, outs[k].bytes); /* NaN: an output left unwritten shows */
    }
    double t0 = now_ms();
    if (kiln.run(m, (const void *const *) in_data, out_data) != 0) die("kiln_model_run failed: %s", kiln_error());
    double first_ms = now_ms() - t0;
    fprintf(stderr, "%s: first kiln_model_run %.2f ms (includes warm-up)\n", model, first_ms);

    Cmp c;
    memset(&c, 0, sizeof c);
    int checked = 0;
    const char *check_what = "host";
    for (int k = 0; k < n_ref_args; k++) {
        compare(&c, outs[k].dtype, out_data[k], refs[k].data, refs[k].dtype, ref_count[k], atol, rtol);
        checked = 1;
    }
    /* A spot check of Y = A x B: sampled elements in double precision. */
    int64_t M = 0, K = 0, N = 0;
    size_t spot_i[4096], spot_j[4096];
    double spot_ref[4096];
    if (spot) {
        M = ins[0].shape[0], K = ins[0].shape[1], N = ins[1].shape[1];
        if (spot > 4096) spot = 4096;
        uint64_t st = 12345;
        const float *A = in_data[0], *B = in_data[1];
        for (long s = 0; s < spot; s++) {
            /* the corners first, then random elements */
            size_t i = s == 0 || s == 1 ? 0 : s == 2 || s == 3 ? (size_t) M - 1 : splitmix64(&st) % (uint64_t) M;
            size_t j = s == 0 || s == 2 ? 0 : s == 1 || s == 3 ? (size_t) N - 1 : splitmix64(&st) % (uint64_t) N;
            double acc = 0;
            for (int64_t q = 0; q < K; q++) acc += (double) A[i * (size_t) K + (size_t) q] * B[(size_t) q * (size_t) N + j];
            spot_i[s] = i, spot_j[s] = j, spot_ref[s] = acc;
        }
        for (long s = 0; s < spot; s++) {
            float y = ((const float *) out_data[0])[spot_i[s] * (size_t) N + spot_j[s]];
            compare(&c, outs[0].dtype, &y, &spot_ref[s], &DTYPES[1], 1, atol, rtol);
        }
        checked = 1;
    }
    if (save_outputs) {
        make_dir(save_outputs);
        for (int k = 0; k < nout; k++) {
            char path[4096];
            npy_path(path, sizeof path, save_outputs, outs[k].name);
            npy_write(path, outs[k].dtype, outs[k].shape, outs[k].rank, out_data[k]);
        }
    }
    if (c.bad) fprintf(stderr, "%s: kiln_model_run: %zu of %zu checked elements differ; the first at flat index %zu: %.9g, expected %.9g\n",
                       model, c.bad, c.checked, c.first_bad, c.bad_a, c.bad_b);

    /* The device path. */
    char gpu[256] = "";
    CUdeviceptr din[MAX_IO], dout[MAX_IO];
    void *din_p[MAX_IO], *dout_p[MAX_IO]; /* the same addresses as the ABI takes them: CUdeviceptr cast to void* */
    CUdevice dev = 0;
    CUcontext ctx = NULL;
    if (device) {
        if (!kiln.run_device) die("--device: %s has no kiln_model_run_device (it is not a CUDA library, or one from before that entry point)", lib);
        dev = open_cuda(gpu, sizeof gpu);
        CU(cu.PrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
        CU(cu.CtxPushCurrent(ctx), "cuCtxPushCurrent");
        for (int k = 0; k < nin; k++) {
            CU(cu.MemAlloc(&din[k], ins[k].bytes ? ins[k].bytes : 16), "cuMemAlloc (input)");
            if (ins[k].bytes) CU(cu.MemcpyHtoD(din[k], in_data[k], ins[k].bytes), "cuMemcpyHtoD (input)");
            din_p[k] = (void *) (uintptr_t) din[k];
        }
        for (int k = 0; k < nout; k++) {
            CU(cu.MemAlloc(&dout[k], outs[k].bytes ? outs[k].bytes : 16), "cuMemAlloc (output)");
            CU(cu.MemsetD8(dout[k], 0xff, outs[k].bytes ? outs[k].bytes : 16), "cuMemsetD8 (output)");
            dout_p[k] = (void *) (uintptr_t) dout[k];
        }
        CU(cu.CtxSynchronize(), "cuCtxSynchronize");
        if (kiln.run_device(m, (const void *const *) din_p, dout_p) != 0) die("kiln_model_run_device failed: %s", kiln_error());
        /* Compare what the device path wrote; it must have finished when the call returned, so the
           copy back does not synchronize with the library's stream first. */
        Cmp cd;
        memset(&cd, 0, sizeof cd);
        for (int k = 0; k < nout; k++) {
            memset(out_data[k], 0, outs[k].bytes);
            CU(cu.MemcpyDtoH(out_data[k], dout[k], outs[k].bytes), "cuMemcpyDtoH (output)");
        }
        for (int k = 0; k < n_ref_args; k++) compare(&cd, outs[k].dtype, out_data[k], refs[k].data, refs[k].dtype, ref_count[k], atol, rtol);
        for (long s = 0; s < spot; s++) {
            float y = ((const float *) out_data[0])[spot_i[s] * (size_t) N + spot_j[s]];
            compare(&cd, outs[0].dtype, &y, &spot_ref[s], &DTYPES[1], 1, atol, rtol);
        }
        if (cd.bad) fprintf(stderr, "%s: kiln_model_run_device: %zu of %zu checked elements differ; the first at flat index %zu: %.9g, expected %.9g\n",
                            model, cd.bad, cd.checked, cd.first_bad, cd.bad_a, cd.bad_b);
        c.bad += cd.bad;
        c.checked += cd.checked;
        c.maxabs = fmax(c.maxabs, cd.maxabs);
        c.maxrel = fmax(c.maxrel, cd.maxrel);
        check_what = "host+device";
        fprintf(stderr, "%s: GPU %s (KILN_CUDA_DEVICE=%s)\n", model, gpu, getenv("KILN_CUDA_DEVICE") ? getenv("KILN_CUDA_DEVICE") : "0");
    }

    /* Timing. */
    double *times = malloc(sizeof(double) * (size_t) (runs > 0 ? runs : 1));
    long done = 0;
    double start = now_ms();
    for (long w = 0; w < warmup && runs > 0; w++) {
        int r = device ? kiln.run_device(m, (const void *const *) din_p, dout_p)
                       : kiln.run(m, (const void *const *) in_data, out_data);
        if (r != 0) die("%s failed in warm-up run %ld: %s", device ? "kiln_model_run_device" : "kiln_model_run", w, kiln_error());
    }
    for (; done < runs; done++) {
        if (done >= 3 && now_ms() - start > budget_s * 1e3) {
            fprintf(stderr, "%s: stopped timing after %ld runs (--budget-s %.0f)\n", model, done, budget_s);
            break;
        }
        double a = now_ms();
        int r = device ? kiln.run_device(m, (const void *const *) din_p, dout_p)
                       : kiln.run(m, (const void *const *) in_data, out_data);
        double b = now_ms();
        if (r != 0) die("%s failed in timed run %ld: %s", device ? "kiln_model_run_device" : "kiln_model_run", done, kiln_error());
        times[done] = b - a;
    }
    double median = NAN, min = NAN;
    if (done > 0) {
        qsort(times, (size_t) done, sizeof(double), cmp_double);
        median = done % 2 ? times[done / 2] : (times[done / 2 - 1] + times[done / 2]) / 2;
        min = times[0];
    }

    /* Kernel times, from a second handle that records CUDA events around each kernel. */
    double kernel_ms = -1;
    if (profile && done > 0) {
        if (!kiln.device_ms) fprintf(stderr, "%s: --profile: the library has no kiln_model_device_ms; no kernel times\n", model);
        else {
            /* Not fatal: the timings above are reported whatever happens here. */
            setenv("KILN_CUDA_PROFILE", "2", 1);
            KilnModel *p = kiln.create((int) threads);
            unsetenv("KILN_CUDA_PROFILE");
            if (!p) fprintf(stderr, "%s: --profile: kiln_model_create (profiling handle) failed: %s\n", model, kiln_error());
            for (int r = 0; p && r < 2; r++) {
                fprintf(stderr, "%s: profiled run %d\n", model, r);
                int rc = device ? kiln.run_device(p, (const void *const *) din_p, dout_p)
                                : kiln.run(p, (const void *const *) in_data, out_data);
                if (rc != 0) {
                    fprintf(stderr, "%s: --profile: the profiled run failed: %s\n", model, kiln_error());
                    break;
                }
                if (r == 1) kernel_ms = kiln.device_ms(p);
            }
            kiln.destroy(p);
        }
    }

    kiln.destroy(m);
    if (device) {
        for (int k = 0; k < nin; k++) cu.MemFree(din[k]);
        for (int k = 0; k < nout; k++) cu.MemFree(dout[k]);
        CUcontext ignored;
        cu.CtxPopCurrent(&ignored);
        cu.PrimaryCtxRelease(dev);
    }

    const char *check = !checked ? "none" : c.bad ? "FAIL" : "pass";
    char extra[256] = "";
    size_t e = 0;
    if (kernel_ms >= 0) e += (size_t) snprintf(extra + e, sizeof extra - e, " kernel_ms=%.4f", kernel_ms);
    if (spot && median > 0) e += (size_t) snprintf(extra + e, sizeof extra - e, " tflops=%.2f", 2.0 * M * N * K / (median * 1e-3) / 1e12);
    for (int k = 0; k < n_ref_args; k++)
        if (refs[k].rank > 0 && refs[k].shape[0] < outs[k].shape[0]) {
            e += (size_t) snprintf(extra + e, sizeof extra - e, " ref_rows=%lld/%lld", (long long) refs[k].shape[0], (long long) outs[k].shape[0]);
            break;
        }
    if (spot) e += (size_t) snprintf(extra + e, sizeof extra - e, " spot=%ld", spot);
    if (device) e += (size_t) snprintf(extra + e, sizeof extra - e, " checked=%s", check_what);
    printf("RESULT model=%s batch=%ld impl=kiln path=%s check=%s maxabs=%.3g maxrel=%.3g median_ms=%.4f min_ms=%.4f runs=%ld throughput=%.1f/s%s\n",
           model, batch, device ? "device" : "host", check, c.maxabs, c.maxrel, median, min, done,
           median > 0 ? batch / (median * 1e-3) : 0.0, extra);
    fflush(stdout);
    return c.bad ? 1 : 0;
}
