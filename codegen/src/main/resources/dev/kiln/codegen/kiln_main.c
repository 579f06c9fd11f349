/*
 * The main program of a standalone Kiln executable (kiln compile --emit exe). It is compiled once
 * per toolchain with the target's C compiler (and cached), and linked with the model's object code
 * and a generated kiln_model_io.c that describes the model's inputs and outputs (kiln_main.h): the
 * program needs nothing of Kiln or the JVM at run time.
 *
 *   OUT [--input NAME=FILE.npy ...] [--output-dir DIR] [--threads N] [--bench RUNS] [--seed S]
 *
 * Inputs not given are random, drawn exactly as `kiln run` draws them (Java's SplittableRandom:
 * floats uniform in [-1, 1), integers in [0, 10), booleans 0/1), so the same seed gives the same
 * inputs. Bad input (unknown name, missing or malformed .npy, wrong dtype or shape) is a one-line
 * message naming the input and what was expected, exit code 2, and nothing is written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kiln_main.h"

/* One line on stderr, exit 2: scripts and people both read the first line only. */
static void usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: error: ", KILN_PROGRAM);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (run %s --help for usage)\n", KILN_PROGRAM);
    exit(2);
}

static long long numel(const KilnTensor *t) {
    long long n = 1;
    for (int d = 0; d < t->rank; d++) n *= t->shape[d];
    return n;
}

static void shape_string(const KilnTensor *t, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < t->rank && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, d + 1 < t->rank || t->rank > 1 ? "%lld, " : "%lld,", t->shape[d]);
    if (t->rank > 1 && len >= 2 && len < cap) len -= 2;
    if (len < cap) snprintf(buf + len, cap - len, ")");
}

/* ---- SplittableRandom, bit for bit (java.util.SplittableRandom with the default gamma) ---- */

static uint64_t rng_seed;
static const uint64_t GOLDEN_GAMMA = 0x9e3779b97f4a7c15ULL;

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int32_t mix32(uint64_t z) {
    z = (z ^ (z >> 33)) * 0x62a9d9ed799705f5ULL;
    return (int32_t)(((z ^ (z >> 28)) * 0xcb24d0a5c88c35b3ULL) >> 32);
}

static uint64_t next_seed(void) { return rng_seed += GOLDEN_GAMMA; }

static double next_double(double origin, double bound) {
    double r = (double)(mix64(next_seed()) >> 11) * 0x1.0p-53;
    r = r * (bound - origin) + origin;
    if (r >= bound) r = bound - 0x1.0p-53; /* never reached for [-1, 1) */
    return r;
}

static int32_t next_int(int32_t bound) {
    int32_t r = mix32(next_seed());
    int32_t m = bound - 1;
    if ((bound & m) == 0) return r & m;
    for (uint32_t u = (uint32_t)r >> 1; (int32_t)(u + (uint32_t)m - (uint32_t)(r = (int32_t)(u % (uint32_t)bound))) < 0;
         u = (uint32_t)mix32(next_seed()) >> 1) {
    }
    return r;
}

static uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) half++;
    return (uint16_t)half;
}

static void fill_random(const KilnTensor *t, void *data) {
    long long n = numel(t);
    for (long long i = 0; i < n; i++) {
        if (t->is_float) {
            double v = next_double(-1.0, 1.0);
            if (t->elem_size == 8) ((double *)data)[i] = v;
            else if (t->elem_size == 4) ((float *)data)[i] = (float)v;
            else ((uint16_t *)data)[i] = float_to_half((float)v);
            continue;
        }
        int64_t v = t->is_bool ? next_int(2) : next_int(10);
        switch (t->elem_size) {
            case 1: ((int8_t *)data)[i] = (int8_t)v; break;
            case 2: ((int16_t *)data)[i] = (int16_t)v; break;
            case 4: ((int32_t *)data)[i] = (int32_t)v; break;
            default: ((int64_t *)data)[i] = v; break;
        }
    }
}

/* ---- .npy ---- */

/* The value of 'key' in a numpy header dict, copied into out (without quotes); 0 if absent. */
static int header_field(const char *h, const char *key, char *out, size_t cap) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "'%s':", key);
    const char *p = strstr(h, pattern);
    if (!p) return 0;
    p += strlen(pattern);
    while (*p == ' ') p++;
    size_t n = 0;
    if (*p == '\'') {
        p++;
        while (*p && *p != '\'' && n + 1 < cap) out[n++] = *p++;
    } else if (*p == '(') {
        while (*p && *p != ')' && n + 1 < cap) out[n++] = *p++;
        if (*p == ')' && n + 1 < cap) out[n++] = ')';
    } else {
        while (*p && *p != ',' && *p != '}' && n + 1 < cap) out[n++] = *p++;
    }
    out[n] = 0;
    return 1;
}

static int parse_shape(const char *s, long long *dims, int cap) {
    int rank = 0;
    const char *p = s + 1;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')' || *p == 0) break;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || rank >= cap) return -1;
        dims[rank++] = v;
        p = end;
        while (*p == 'L') p++;
    }
    return rank;
}

/* Reads FILE into a new buffer after checking dtype and shape against t; exits 2 with a message on any mismatch. */
static void *read_npy(const KilnTensor *t, const char *path) {
    char shape[256], got_shape[256], descr[32], order[16];
    shape_string(t, shape, sizeof shape);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: error: input '%s': cannot read %s: %s (expected a .npy file of %s %s)\n", KILN_PROGRAM, t->name,
                path, strerror(errno), t->descr, shape);
        exit(2);
    }
    unsigned char magic[10];
    if (fread(magic, 1, 10, f) != 10 || memcmp(magic, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "%s: error: input '%s': %s is not a .npy file (expected %s %s)\n", KILN_PROGRAM, t->name, path,
                t->descr, shape);
        exit(2);
    }
    size_t hlen;
    if (magic[6] == 1) {
        hlen = (size_t)magic[8] | (size_t)magic[9] << 8;
    } else if (magic[6] == 2 || magic[6] == 3) {
        unsigned char more[2];
        if (fread(more, 1, 2, f) != 2) goto truncated;
        hlen = (size_t)magic[8] | (size_t)magic[9] << 8 | (size_t)more[0] << 16 | (size_t)more[1] << 24;
    } else {
        fprintf(stderr, "%s: error: input '%s': %s has unsupported .npy version %d\n", KILN_PROGRAM, t->name, path, magic[6]);
        exit(2);
    }
    if (hlen > 1 << 20) goto truncated;
    char *header = malloc(hlen + 1);
    if (!header || fread(header, 1, hlen, f) != hlen) goto truncated;
    header[hlen] = 0;
    if (!header_field(header, "descr", descr, sizeof descr) || !header_field(header, "shape", got_shape, sizeof got_shape)
        || !header_field(header, "fortran_order", order, sizeof order)) {
        fprintf(stderr, "%s: error: input '%s': %s has a malformed .npy header (expected %s %s)\n", KILN_PROGRAM, t->name, path,
                t->descr, shape);
        exit(2);
    }
    free(header);
    /* '|u1' and '<u1' name the same one-byte type; so do '=' and '<' on little-endian machines. */
    const char *want = t->descr;
    int same = strcmp(descr, want) == 0
               || ((descr[0] == '|' || descr[0] == '<' || descr[0] == '=') && strcmp(descr + 1, want + 1) == 0);
    if (!same) {
        fprintf(stderr, "%s: error: input '%s': %s holds dtype %s, expected %s\n", KILN_PROGRAM, t->name, path, descr, want);
        exit(2);
    }
    if (strcmp(order, "False") != 0) {
        fprintf(stderr, "%s: error: input '%s': %s is in Fortran order; save it C-contiguous\n", KILN_PROGRAM, t->name, path);
        exit(2);
    }
    long long dims[16];
    int rank = parse_shape(got_shape, dims, 16);
    int ok = rank == t->rank;
    for (int d = 0; ok && d < rank; d++) ok = dims[d] == t->shape[d];
    if (!ok) {
        fprintf(stderr, "%s: error: input '%s': %s has shape %s, expected %s\n", KILN_PROGRAM, t->name, path, got_shape, shape);
        exit(2);
    }
    size_t bytes = (size_t)numel(t) * (size_t)t->elem_size;
    void *data = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    if (!data) {
        fprintf(stderr, "%s: error: input '%s': out of memory\n", KILN_PROGRAM, t->name);
        exit(2);
    }
    if (fread(data, 1, bytes, f) != bytes) goto truncated;
    if (fgetc(f) != EOF) {
        fprintf(stderr, "%s: error: input '%s': %s has more data than shape %s holds\n", KILN_PROGRAM, t->name, path, shape);
        exit(2);
    }
    fclose(f);
    return data;
truncated:
    fprintf(stderr, "%s: error: input '%s': %s is truncated (expected %s %s)\n", KILN_PROGRAM, t->name, path, t->descr, shape);
    exit(2);
}

/* Writes data as DIR/NAME.npy through a temporary file and a rename; 0 on success. */
static int write_npy(const KilnTensor *t, const void *data, const char *dir) {
    char name[512], path[4096], tmp[4200], shape[256];
    size_t n = 0;
    for (const char *p = t->name; *p && n + 1 < sizeof name; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        name[n++] = ok ? c : '_';
    }
    name[n] = 0;
    if (n == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) strcpy(name, "output");
    const char *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
    snprintf(path, sizeof path, "%s%s%s.npy", dir, sep, name);
    snprintf(tmp, sizeof tmp, "%s%s.%s.npy.tmp.%ld", dir, sep, name, (long)getpid());
    shape_string(t, shape, sizeof shape);
    char header[512];
    int len = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", t->descr, shape);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", KILN_PROGRAM, tmp, strerror(errno));
        return 1;
    }
    unsigned hl = (unsigned)(len + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    size_t bytes = (size_t)numel(t) * (size_t)t->elem_size;
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)len, f) == (size_t)len;
    for (int i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(data, 1, bytes, f) == bytes;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", KILN_PROGRAM, path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long parse_long(const char *flag, const char *s, long min) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *s == 0 || *end != 0 || v < min) {
        fprintf(stderr, "%s: error: %s '%s': expected a whole number >= %ld\n", KILN_PROGRAM, flag, s, min);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    const char **given = calloc((size_t)KILN_NUM_INPUTS + 1, sizeof(char *));
    const void **inputs = calloc((size_t)KILN_NUM_INPUTS + 1, sizeof(void *));
    void **outputs = calloc((size_t)KILN_NUM_OUTPUTS + 1, sizeof(void *));
    if (!given || !inputs || !outputs) usage_error("out of memory%s", "");
    const char *out_dir = NULL;
    long threads = 0, bench = 0;
    long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: %s [--input NAME=FILE.npy ...] [--output-dir DIR] [--threads N] [--bench RUNS] [--seed S]\n",
                   KILN_PROGRAM);
            printf("inputs:\n");
            for (int k = 0; k < KILN_NUM_INPUTS; k++) {
                char s[256];
                shape_string(&KILN_INPUTS[k], s, sizeof s);
                printf("  %s %s %s\n", KILN_INPUTS[k].name, KILN_INPUTS[k].descr, s);
            }
            return 0;
        }
        if (i + 1 >= argc) usage_error("%s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--input") == 0) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) usage_error("--input '%s': expected NAME=FILE.npy", v);
            int found = -1;
            for (int k = 0; k < KILN_NUM_INPUTS; k++)
                if (strlen(KILN_INPUTS[k].name) == (size_t)(eq - v) && strncmp(KILN_INPUTS[k].name, v, (size_t)(eq - v)) == 0)
                    found = k;
            if (found < 0) {
                fprintf(stderr, "%s: error: input '%.*s': the model has no input of that name; its inputs are:", KILN_PROGRAM,
                        (int)(eq - v), v);
                for (int k = 0; k < KILN_NUM_INPUTS; k++) fprintf(stderr, "%s %s", k ? "," : "", KILN_INPUTS[k].name);
                if (KILN_NUM_INPUTS == 0) fprintf(stderr, " none");
                fprintf(stderr, "\n");
                exit(2);
            }
            given[found] = eq + 1;
        } else if (strcmp(a, "--output-dir") == 0) {
            out_dir = v;
        } else if (strcmp(a, "--threads") == 0) {
            threads = parse_long(a, v, 0);
        } else if (strcmp(a, "--bench") == 0) {
            bench = parse_long(a, v, 1);
        } else if (strcmp(a, "--seed") == 0) {
            seed = parse_long(a, v, 0);
        } else {
            usage_error("unknown option %s", a);
        }
    }

    /* Every input is read and checked before anything runs or is written. */
    rng_seed = (uint64_t)seed;
    for (int k = 0; k < KILN_NUM_INPUTS; k++) {
        const KilnTensor *t = &KILN_INPUTS[k];
        if (given[k]) {
            inputs[k] = read_npy(t, given[k]);
        } else {
            size_t bytes = (size_t)numel(t) * (size_t)t->elem_size;
            void *data = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
            if (!data) usage_error("out of memory for input '%s'", t->name);
            fill_random(t, data);
            inputs[k] = data;
        }
    }
    if (out_dir) {
        struct stat st;
        if (stat(out_dir, &st) != 0 && mkdir(out_dir, 0777) != 0) {
            fprintf(stderr, "%s: error: cannot create output directory %s: %s\n", KILN_PROGRAM, out_dir, strerror(errno));
            return 2;
        }
    }
    for (int k = 0; k < KILN_NUM_OUTPUTS; k++) {
        size_t bytes = (size_t)numel(&KILN_OUTPUTS[k]) * (size_t)KILN_OUTPUTS[k].elem_size;
        outputs[k] = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
        if (!outputs[k]) usage_error("out of memory for output '%s'", KILN_OUTPUTS[k].name);
    }

    KilnModel *m = kiln_model_create((int)threads);
    if (!m) {
        fprintf(stderr, "%s: error: %s\n", KILN_PROGRAM, kiln_model_last_error());
        return 1;
    }
    double t0 = now_ms();
    if (kiln_model_run(m, (const void *const *)inputs, outputs) != 0) {
        fprintf(stderr, "%s: error: %s\n", KILN_PROGRAM, kiln_model_last_error());
        return 1;
    }
    double first = now_ms() - t0;
    if (bench > 0) {
        double *times = malloc(sizeof(double) * (size_t)bench);
        for (long r = 0; r < bench; r++) {
            double s = now_ms();
            if (kiln_model_run(m, (const void *const *)inputs, outputs) != 0) {
                fprintf(stderr, "%s: error: %s\n", KILN_PROGRAM, kiln_model_last_error());
                return 1;
            }
            times[r] = now_ms() - s;
        }
        qsort(times, (size_t)bench, sizeof(double), compare_doubles);
        double median = bench % 2 ? times[bench / 2] : (times[bench / 2 - 1] + times[bench / 2]) / 2;
        printf("bench: %ld runs, median %.3f ms, min %.3f ms\n", bench, median, times[0]);
        free(times);
    } else {
        printf("ran in %.3f ms (first run)\n", first);
    }
    int status = 0;
    if (out_dir)
        for (int k = 0; k < KILN_NUM_OUTPUTS; k++) {
            KilnTensor t = KILN_OUTPUTS[k];
            if (t.shape_output >= 0) t.shape = (const long long *)outputs[t.shape_output]; /* the actual shape, within the bound */
            status |= write_npy(&t, outputs[k], out_dir);
        }
    kiln_model_destroy(m);
    return status;
}
