/*
 * The executor of a Kiln OpenCL library: the five kiln_model_* entry points of the C ABI, driven
 * by the plan that Kiln generates for each model (kiln_device.h: the OpenCL C source, the
 * kernels in call order with their arguments and launch sizes, the constants, the workspace).
 * It opens the ICD loader (libOpenCL.so.1) when a model is created, so the library links against
 * nothing of OpenCL and loads on machines without it; kiln_model_create then fails with a message.
 * A handle owns one context, one in-order queue, the built program and every device buffer, so
 * two handles can run at once on two threads.
 *
 * Profiling: with KILN_OPENCL_PROFILE=1 in the environment when a handle is created, its queue
 * records an event per kernel and kiln_model_device_ms (an extra entry point, not part of the
 * five-function ABI) returns the summed kernel time of the handle's last run, as the device's
 * profiling counters measured it: what the tuner compares candidates by. KILN_OPENCL_PROFILE=2
 * also prints each kernel's time to stderr after every run, to find the slow ones.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KILN_DEVICE_EXECUTOR
#include "kiln_device.h"

/* ---- the part of the OpenCL 1.2 API the executor uses, resolved with dlsym ---- */

typedef int cl_int;
typedef unsigned int cl_uint;
typedef unsigned long long cl_ulong;
typedef cl_ulong cl_bitfield;
typedef struct _cl_platform_id *cl_platform_id;
typedef struct _cl_device_id *cl_device_id;
typedef struct _cl_context *cl_context;
typedef struct _cl_command_queue *cl_command_queue;
typedef struct _cl_mem *cl_mem;
typedef struct _cl_program *cl_program;
typedef struct _cl_kernel *cl_kernel;
typedef struct _cl_event *cl_event;

#define CL_SUCCESS 0
#define CL_DEVICE_TYPE_ALL 0xFFFFFFFFULL
#define CL_MEM_READ_WRITE (1 << 0)
#define CL_MEM_READ_ONLY (1 << 2)
#define CL_MEM_COPY_HOST_PTR (1 << 5)
#define CL_PROGRAM_BUILD_LOG 0x1183
#define CL_DEVICE_NAME 0x102B
#define CL_TRUE 1
#define CL_FALSE 0
#define CL_QUEUE_PROFILING_ENABLE (1 << 1)
#define CL_PROFILING_COMMAND_START 0x1282
#define CL_PROFILING_COMMAND_END 0x1283

static struct {
    void *lib;
    cl_int (*GetPlatformIDs)(cl_uint, cl_platform_id *, cl_uint *);
    cl_int (*GetDeviceIDs)(cl_platform_id, cl_bitfield, cl_uint, cl_device_id *, cl_uint *);
    cl_int (*GetDeviceInfo)(cl_device_id, cl_uint, size_t, void *, size_t *);
    cl_context (*CreateContext)(const void *, cl_uint, const cl_device_id *, void *, void *, cl_int *);
    cl_command_queue (*CreateCommandQueue)(cl_context, cl_device_id, cl_bitfield, cl_int *);
    cl_program (*CreateProgramWithSource)(cl_context, cl_uint, const char **, const size_t *, cl_int *);
    cl_int (*BuildProgram)(cl_program, cl_uint, const cl_device_id *, const char *, void *, void *);
    cl_int (*GetProgramBuildInfo)(cl_program, cl_device_id, cl_uint, size_t, void *, size_t *);
    cl_kernel (*CreateKernel)(cl_program, const char *, cl_int *);
    cl_mem (*CreateBuffer)(cl_context, cl_bitfield, size_t, void *, cl_int *);
    cl_int (*SetKernelArg)(cl_kernel, cl_uint, size_t, const void *);
    cl_int (*EnqueueWriteBuffer)(cl_command_queue, cl_mem, cl_uint, size_t, size_t, const void *, cl_uint, const cl_event *, cl_event *);
    cl_int (*EnqueueReadBuffer)(cl_command_queue, cl_mem, cl_uint, size_t, size_t, void *, cl_uint, const cl_event *, cl_event *);
    cl_int (*EnqueueNDRangeKernel)(cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *, const size_t *, cl_uint,
                                   const cl_event *, cl_event *);
    cl_int (*Finish)(cl_command_queue);
    cl_int (*GetEventProfilingInfo)(cl_event, cl_uint, size_t, void *, size_t *);
    cl_int (*ReleaseEvent)(cl_event);
    cl_int (*ReleaseMemObject)(cl_mem);
    cl_int (*ReleaseKernel)(cl_kernel);
    cl_int (*ReleaseProgram)(cl_program);
    cl_int (*ReleaseCommandQueue)(cl_command_queue);
    cl_int (*ReleaseContext)(cl_context);
} cl;

#define INSTALL_HINT "install an OpenCL driver and the ICD loader (Debian: ocl-icd-libopencl1 with pocl-opencl-icd, or your GPU vendor's OpenCL package)"

/* Opens libOpenCL.so.1 once per process; 0 on success. dlopen and dlsym are thread-safe. */
static int load_opencl(void) {
    if (cl.lib) return 0;
    void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        set_error("kiln_model_create: cannot open the OpenCL ICD loader libOpenCL.so.1 (%s): " INSTALL_HINT, dlerror());
        return 1;
    }
#define SYM(field, name)                                                                                        \
    if (!(*(void **)&cl.field = dlsym(lib, name))) {                                                            \
        set_error("kiln_model_create: libOpenCL.so.1 has no %s (an OpenCL 1.2 loader is needed)", name);        \
        return 1;                                                                                               \
    }
    SYM(GetPlatformIDs, "clGetPlatformIDs")
    SYM(GetDeviceIDs, "clGetDeviceIDs")
    SYM(GetDeviceInfo, "clGetDeviceInfo")
    SYM(CreateContext, "clCreateContext")
    SYM(CreateCommandQueue, "clCreateCommandQueue")
    SYM(CreateProgramWithSource, "clCreateProgramWithSource")
    SYM(BuildProgram, "clBuildProgram")
    SYM(GetProgramBuildInfo, "clGetProgramBuildInfo")
    SYM(CreateKernel, "clCreateKernel")
    SYM(CreateBuffer, "clCreateBuffer")
    SYM(SetKernelArg, "clSetKernelArg")
    SYM(EnqueueWriteBuffer, "clEnqueueWriteBuffer")
    SYM(EnqueueReadBuffer, "clEnqueueReadBuffer")
    SYM(EnqueueNDRangeKernel, "clEnqueueNDRangeKernel")
    SYM(Finish, "clFinish")
    SYM(GetEventProfilingInfo, "clGetEventProfilingInfo")
    SYM(ReleaseEvent, "clReleaseEvent")
    SYM(ReleaseMemObject, "clReleaseMemObject")
    SYM(ReleaseKernel, "clReleaseKernel")
    SYM(ReleaseProgram, "clReleaseProgram")
    SYM(ReleaseCommandQueue, "clReleaseCommandQueue")
    SYM(ReleaseContext, "clReleaseContext")
#undef SYM
    __atomic_store_n(&cl.lib, lib, __ATOMIC_RELEASE);
    return 0;
}

struct KilnModel {
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel *kernels;   /* one per call, arguments bound once */
    cl_mem *inputs, *outputs, *constants, *slots;
    cl_event *events;     /* one per call when profiling, else NULL */
    double device_ms;     /* the kernels' time in the last run, or -1 */
    int print_profile;    /* KILN_OPENCL_PROFILE=2: each kernel's time to stderr after each run */
};

void kiln_model_destroy(KilnModel *m);

/* The device to run on: KILN_OPENCL_DEVICE=N (0-based, over all platforms), else the first. */
static int pick_device(cl_platform_id *platform_out, cl_device_id *device_out) {
    cl_platform_id platforms[16];
    cl_uint np = 0;
    if (cl.GetPlatformIDs(16, platforms, &np) != CL_SUCCESS || np == 0) {
        set_error("kiln_model_create: no OpenCL platform found: " INSTALL_HINT);
        return 1;
    }
    const char *env = getenv("KILN_OPENCL_DEVICE");
    int want = env ? atoi(env) : 0, seen = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devices[16];
        cl_uint nd = 0;
        if (cl.GetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 16, devices, &nd) != CL_SUCCESS) continue;
        for (cl_uint d = 0; d < nd; d++, seen++) {
            if (seen == want) {
                *platform_out = platforms[p];
                *device_out = devices[d];
                return 0;
            }
        }
    }
    if (seen == 0) set_error("kiln_model_create: the OpenCL platforms have no device: " INSTALL_HINT);
    else set_error("kiln_model_create: KILN_OPENCL_DEVICE=%d, but this machine has %d OpenCL device(s)", want, seen);
    return 1;
}

static cl_mem buffer(KilnModel *m, size_t bytes, void *host, const char *what, long long index) {
    cl_int err = 0;
    cl_mem b = cl.CreateBuffer(m->context, host ? CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR : CL_MEM_READ_WRITE, bytes ? bytes : 4, host, &err);
    if (err != CL_SUCCESS || !b) {
        set_error("kiln_model_create: cannot allocate the %zu-byte device buffer for %s %lld (OpenCL error %d)", bytes, what, index, err);
        return NULL;
    }
    return b;
}

KILN_API KilnModel *kiln_model_create(int num_threads) {
    (void)num_threads; /* the device decides its own parallelism */
    if (load_opencl()) return NULL;
    KilnModel *m = calloc(1, sizeof *m);
    if (!m) {
        set_error("kiln_model_create: out of memory");
        return NULL;
    }
    m->kernels = calloc(KILN_DEV_NUM_CALLS + 1, sizeof(cl_kernel));
    m->inputs = calloc(KILN_DEV_NUM_INPUTS + 1, sizeof(cl_mem));
    m->outputs = calloc(KILN_DEV_NUM_OUTPUTS + 1, sizeof(cl_mem));
    m->constants = calloc(KILN_DEV_NUM_CONSTANTS + 1, sizeof(cl_mem));
    m->slots = calloc(KILN_DEV_NUM_SLOTS + 1, sizeof(cl_mem));
    if (!m->kernels || !m->inputs || !m->outputs || !m->constants || !m->slots) {
        set_error("kiln_model_create: out of memory");
        kiln_model_destroy(m);
        return NULL;
    }
    cl_platform_id platform;
    cl_device_id device;
    cl_int err = 0;
    if (pick_device(&platform, &device)) goto fail;
    m->context = cl.CreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        set_error("kiln_model_create: clCreateContext failed (OpenCL error %d)", err);
        goto fail;
    }
    const char *profile = getenv("KILN_OPENCL_PROFILE");
    int profiling = profile && (strcmp(profile, "1") == 0 || strcmp(profile, "2") == 0);
    m->print_profile = profile && strcmp(profile, "2") == 0;
    m->device_ms = -1;
    if (profiling && !(m->events = calloc(KILN_DEV_NUM_CALLS + 1, sizeof(cl_event)))) {
        set_error("kiln_model_create: out of memory");
        goto fail;
    }
    m->queue = cl.CreateCommandQueue(m->context, device, profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (err != CL_SUCCESS) {
        set_error("kiln_model_create: clCreateCommandQueue failed (OpenCL error %d)", err);
        goto fail;
    }
    const char *src = kiln_dev_source;
    m->program = cl.CreateProgramWithSource(m->context, 1, &src, NULL, &err);
    if (err != CL_SUCCESS) {
        set_error("kiln_model_create: clCreateProgramWithSource failed (OpenCL error %d)", err);
        goto fail;
    }
    err = cl.BuildProgram(m->program, 1, &device, "-cl-std=CL1.2", NULL, NULL);
    if (err != CL_SUCCESS) {
        char name[256] = "";
        cl.GetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, NULL);
        int len = snprintf(kiln_error_buf, sizeof kiln_error_buf, "kiln_model_create: the OpenCL program did not build on %s (error %d); build log:\n",
                           name, err);
        size_t got = 0;
        if (len > 0 && (size_t)len < sizeof kiln_error_buf)
            cl.GetProgramBuildInfo(m->program, device, CL_PROGRAM_BUILD_LOG, sizeof kiln_error_buf - (size_t)len, kiln_error_buf + len, &got);
        kiln_last_error = kiln_error_buf;
        goto fail;
    }
    for (int i = 0; i < KILN_DEV_NUM_INPUTS; i++)
        if (!(m->inputs[i] = buffer(m, KILN_DEV_INPUT_BYTES[i], NULL, "input", i))) goto fail;
    for (int i = 0; i < KILN_DEV_NUM_OUTPUTS; i++)
        if (!(m->outputs[i] = buffer(m, KILN_DEV_OUTPUT_BYTES[i], NULL, "output", i))) goto fail;
    for (int i = 0; i < KILN_DEV_NUM_CONSTANTS; i++)
        if (!(m->constants[i] = buffer(m, KILN_DEV_CONSTANTS[i].size, (void *)(kiln_dev_constant_data + KILN_DEV_CONSTANTS[i].offset),
                                       "constant", i)))
            goto fail;
    for (int i = 0; i < KILN_DEV_NUM_SLOTS; i++)
        if (!(m->slots[i] = buffer(m, KILN_DEV_SLOT_BYTES[i], NULL, "workspace slot", i))) goto fail;
    for (int c = 0; c < KILN_DEV_NUM_CALLS; c++) {
        const KilnDevCall *call = &KILN_DEV_CALLS[c];
        m->kernels[c] = cl.CreateKernel(m->program, call->kernel, &err);
        if (err != CL_SUCCESS) {
            set_error("kiln_model_create: the OpenCL program has no kernel %s (OpenCL error %d)", call->kernel, err);
            goto fail;
        }
        for (int a = 0; a < call->num_args; a++) {
            const KilnDevArg *arg = &call->args[a];
            cl_mem *b = arg->kind == KILN_ARG_INPUT ? &m->inputs[arg->index]
                        : arg->kind == KILN_ARG_OUTPUT ? &m->outputs[arg->index]
                        : arg->kind == KILN_ARG_CONSTANT ? &m->constants[arg->index]
                                                         : &m->slots[arg->index];
            if ((err = cl.SetKernelArg(m->kernels[c], (cl_uint)a, sizeof(cl_mem), b)) != CL_SUCCESS) {
                set_error("kiln_model_create: cannot bind argument %d of kernel %s (OpenCL error %d)", a, call->kernel, err);
                goto fail;
            }
        }
    }
    return m;
fail:
    kiln_model_destroy(m);
    return NULL;
}

static int collect_profile(KilnModel *m);

/* Releases the profiling events a run left (one whose launches failed part way). */
static void release_events(KilnModel *m) {
    for (int c = 0; m->events && c < KILN_DEV_NUM_CALLS; c++)
        if (m->events[c]) {
            cl.ReleaseEvent(m->events[c]);
            m->events[c] = NULL;
        }
}

KILN_API int kiln_model_run(KilnModel *m, const void *const *inputs, void *const *outputs) {
    if (check_run_args(m, inputs, outputs, "kiln_model_run")) return 1;
    cl_int err;
    for (int i = 0; i < KILN_DEV_NUM_INPUTS; i++) {
        if (KILN_DEV_INPUT_BYTES[i] == 0) continue;
        if ((err = cl.EnqueueWriteBuffer(m->queue, m->inputs[i], CL_FALSE, 0, KILN_DEV_INPUT_BYTES[i], inputs[i], 0, NULL, NULL)) != CL_SUCCESS) {
            set_error("kiln_model_run: copying input %d to the device failed (OpenCL error %d)", i, err);
            return 1;
        }
    }
    for (int c = 0; c < KILN_DEV_NUM_CALLS; c++) {
        const KilnDevCall *call = &KILN_DEV_CALLS[c];
        size_t global[3], local[3];
        for (int d = 0; d < 3; d++) {
            global[d] = call->grid[d] * call->block[d];
            local[d] = call->block[d];
        }
        if (kiln_profile_times) {
            cl.Finish(m->queue);
            kiln_profile_times[2 * c] = kiln_now_ns();
        }
        if ((err = cl.EnqueueNDRangeKernel(m->queue, m->kernels[c], 3, NULL, global, local, 0, NULL,
                                           m->events ? &m->events[c] : NULL)) != CL_SUCCESS) {
            set_error("kiln_model_run: launching kernel %s (%zux%zux%zu work-groups of %zux%zux%zu) failed (OpenCL error %d)",
                      call->kernel, call->grid[0], call->grid[1], call->grid[2], local[0], local[1], local[2], err);
            cl.Finish(m->queue);
            release_events(m);
            return 1;
        }
        if (kiln_profile_times) {
            if ((err = cl.Finish(m->queue)) != CL_SUCCESS) {
                set_error("kiln_model_run: kernel %s failed (OpenCL error %d)", call->kernel, err);
                release_events(m);
                return 1;
            }
            kiln_profile_times[2 * c + 1] = kiln_now_ns();
        }
    }
    for (int i = 0; i < KILN_DEV_NUM_OUTPUTS; i++) {
        if (KILN_DEV_OUTPUT_BYTES[i] == 0) continue;
        if ((err = cl.EnqueueReadBuffer(m->queue, m->outputs[i], CL_FALSE, 0, KILN_DEV_OUTPUT_BYTES[i], outputs[i], 0, NULL, NULL)) != CL_SUCCESS) {
            set_error("kiln_model_run: copying output %d from the device failed (OpenCL error %d)", i, err);
            cl.Finish(m->queue);
            release_events(m);
            return 1;
        }
    }
    if ((err = cl.Finish(m->queue)) != CL_SUCCESS) {
        set_error("kiln_model_run: the OpenCL queue failed (error %d)", err);
        release_events(m);
        return 1;
    }
    if (m->events) return collect_profile(m);
    return 0;
}

/* Sums the kernels' START..END times of the run just finished into m->device_ms and releases the events. */
static int collect_profile(KilnModel *m) {
    cl_ulong total = 0;
    int failed = 0;
    for (int c = 0; c < KILN_DEV_NUM_CALLS; c++) {
        cl_ulong start = 0, end = 0;
        if (!m->events[c]) continue;
        if (cl.GetEventProfilingInfo(m->events[c], CL_PROFILING_COMMAND_START, sizeof start, &start, NULL) != CL_SUCCESS ||
            cl.GetEventProfilingInfo(m->events[c], CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) != CL_SUCCESS)
            failed = 1;
        else if (end > start)
            total += end - start;
        if (m->print_profile && !failed)
            fprintf(stderr, "kiln opencl profile: %-48s %9.3f ms\n", KILN_DEV_CALLS[c].kernel, end > start ? (double)(end - start) / 1e6 : 0.0);
        cl.ReleaseEvent(m->events[c]);
        m->events[c] = NULL;
    }
    if (failed) {
        set_error("kiln_model_run: the OpenCL device gave no profiling times (KILN_OPENCL_PROFILE=1)");
        m->device_ms = -1;
        return 1;
    }
    m->device_ms = (double)total / 1e6;
    return 0;
}

/* The kernels' device time of the handle's last run in milliseconds; -1 when profiling is off (KILN_OPENCL_PROFILE). */
KILN_API double kiln_model_device_ms(const KilnModel *m) {
    return m ? m->device_ms : -1;
}

KILN_API void kiln_model_destroy(KilnModel *m) {
    if (!m) return;
    if (cl.lib) {
        if (m->queue) cl.Finish(m->queue);
        release_events(m);
        for (int c = 0; m->kernels && c < KILN_DEV_NUM_CALLS; c++)
            if (m->kernels[c]) cl.ReleaseKernel(m->kernels[c]);
        cl_mem *groups[4] = {m->inputs, m->outputs, m->constants, m->slots};
        int counts[4] = {KILN_DEV_NUM_INPUTS, KILN_DEV_NUM_OUTPUTS, KILN_DEV_NUM_CONSTANTS, KILN_DEV_NUM_SLOTS};
        for (int g = 0; g < 4; g++)
            for (int i = 0; groups[g] && i < counts[g]; i++)
                if (groups[g][i]) cl.ReleaseMemObject(groups[g][i]);
        if (m->program) cl.ReleaseProgram(m->program);
        if (m->queue) cl.ReleaseCommandQueue(m->queue);
        if (m->context) cl.ReleaseContext(m->context);
    }
    free(m->kernels);
    free(m->inputs);
    free(m->outputs);
    free(m->constants);
    free(m->slots);
    free(m->events);
    free(m);
}
