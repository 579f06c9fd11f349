/*
 * The executor of a Kiln CUDA library: the kiln_model_* entry points of the C ABI, driven by the
 * plan that Kiln generates for each model (kiln_device.h: the PTX module, the kernels in call
 * order with their arguments and launch sizes, the constants, the workspace). It opens the NVIDIA
 * driver (libcuda.so.1) when a model is created, so the library links against nothing of CUDA and
 * loads on machines without it; kiln_model_create then returns NULL and says why.
 *
 * A handle owns the device's primary context (retained), the module JIT-compiled from the
 * embedded PTX, one stream, and device buffers for the inputs, outputs, weights and workspace, so
 * two handles can run at once on two threads. KILN_CUDA_DEVICE=N picks the GPU (default 0).
 *
 * Extra entry points beyond the five-function ABI:
 *   kiln_model_run_device: inputs and outputs are device pointers (CUdeviceptr values, 16-byte
 *     aligned, on the handle's GPU), for callers whose tensors already live there; it returns
 *     once the outputs are written.
 *   kiln_model_device_ms: with KILN_CUDA_PROFILE=1 in the environment when the handle is created,
 *     the kernels' summed time of the last run as CUDA events measured it (what the tuner compares
 *     candidates by); KILN_CUDA_PROFILE=2 also prints each kernel's time to stderr after each run.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KILN_DEVICE_EXECUTOR
#include "kiln_device.h"

/* ---- the part of the CUDA driver API the executor uses, resolved with dlsym ---- */

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;

#define CUDA_SUCCESS 0
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76
#define CU_JIT_ERROR_LOG_BUFFER 5
#define CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES 6
#define CU_STREAM_NON_BLOCKING 1

static struct {
    void *lib;
    CUresult (*Init)(unsigned);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*DeviceGetAttribute)(int *, int, CUdevice);
    CUresult (*PrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*PrimaryCtxRelease)(CUdevice);
    CUresult (*CtxPushCurrent)(CUcontext);
    CUresult (*CtxPopCurrent)(CUcontext *);
    CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **);
    CUresult (*ModuleUnload)(CUmodule);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult (*MemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
    CUresult (*StreamCreate)(CUstream *, unsigned);
    CUresult (*StreamDestroy)(CUstream);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
    CUresult (*EventCreate)(CUevent *, unsigned);
    CUresult (*EventRecord)(CUevent, CUstream);
    CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
    CUresult (*EventDestroy)(CUevent);
    CUresult (*GetErrorName)(CUresult, const char **);
    CUresult (*GetErrorString)(CUresult, const char **);
} cu;

#define INSTALL_HINT "a CUDA library runs where the NVIDIA driver is installed (libcuda.so.1, from the nvidia-driver packages)"

/* "CUDA_ERROR_X: text" for status r. */
static const char *cuda_error(CUresult r) {
    static __thread char buf[256];
    const char *name = NULL, *text = NULL;
    if (cu.GetErrorName) cu.GetErrorName(r, &name);
    if (cu.GetErrorString) cu.GetErrorString(r, &text);
    snprintf(buf, sizeof buf, "CUDA error %d%s%s%s%s", r, name ? " " : "", name ? name : "", text ? ": " : "", text ? text : "");
    return buf;
}

/* Opens libcuda.so.1 and initializes the driver once per process; 0 on success. */
static int load_cuda(void) {
    if (__atomic_load_n(&cu.lib, __ATOMIC_ACQUIRE)) return 0;
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        set_error("kiln_model_create: cannot open the NVIDIA driver libcuda.so.1 (%s): " INSTALL_HINT, dlerror());
        return 1;
    }
#define SYM(field, name)                                                                                  \
    if (!(*(void **)&cu.field = dlsym(lib, name))) {                                                      \
        set_error("kiln_model_create: libcuda.so.1 has no %s (the driver is too old: CUDA 12 or newer is needed)", name); \
        return 1;                                                                                         \
    }
    SYM(Init, "cuInit")
    SYM(DeviceGetCount, "cuDeviceGetCount")
    SYM(DeviceGet, "cuDeviceGet")
    SYM(DeviceGetName, "cuDeviceGetName")
    SYM(DeviceGetAttribute, "cuDeviceGetAttribute")
    SYM(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain")
    SYM(PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2")
    SYM(CtxPushCurrent, "cuCtxPushCurrent_v2")
    SYM(CtxPopCurrent, "cuCtxPopCurrent_v2")
    SYM(ModuleLoadDataEx, "cuModuleLoadDataEx")
    SYM(ModuleUnload, "cuModuleUnload")
    SYM(ModuleGetFunction, "cuModuleGetFunction")
    SYM(MemAlloc, "cuMemAlloc_v2")
    SYM(MemFree, "cuMemFree_v2")
    SYM(MemcpyHtoD, "cuMemcpyHtoD_v2")
    SYM(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")
    SYM(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2")
    SYM(StreamCreate, "cuStreamCreate")
    SYM(StreamDestroy, "cuStreamDestroy_v2")
    SYM(StreamSynchronize, "cuStreamSynchronize")
    SYM(LaunchKernel, "cuLaunchKernel")
    SYM(EventCreate, "cuEventCreate")
    SYM(EventRecord, "cuEventRecord")
    SYM(EventDestroy, "cuEventDestroy_v2")
    SYM(GetErrorName, "cuGetErrorName")
    SYM(GetErrorString, "cuGetErrorString")
#undef SYM
    if (!(*(void **)&cu.EventElapsedTime = dlsym(lib, "cuEventElapsedTime_v2")) &&
        !(*(void **)&cu.EventElapsedTime = dlsym(lib, "cuEventElapsedTime"))) {
        set_error("kiln_model_create: libcuda.so.1 has no cuEventElapsedTime");
        return 1;
    }
    CUresult r = cu.Init(0);
    if (r != CUDA_SUCCESS) {
        set_error("kiln_model_create: cuInit failed (%s): no usable NVIDIA GPU here", cuda_error(r));
        return 1;
    }
    __atomic_store_n(&cu.lib, lib, __ATOMIC_RELEASE);
    return 0;
}

struct KilnModel {
    CUdevice device;
    CUcontext context; /* the device's primary context, retained */
    CUmodule module;
    CUstream stream;
    CUfunction *functions; /* one per call */
    CUdeviceptr *inputs, *outputs, *constants, *slots;
    CUdeviceptr *arg_values; /* scratch: one launch's arguments */
    void **arg_pointers;
    CUevent *events; /* KILN_DEV_NUM_CALLS + 1 when profiling, else NULL */
    double device_ms;
    int print_profile;
};

KILN_API void kiln_model_destroy(KilnModel *m);

/* Makes the handle's context current on this thread for one entry point. */
static int enter(KilnModel *m, const char *what) {
    CUresult r = cu.CtxPushCurrent(m->context);
    if (r != CUDA_SUCCESS) {
        set_error("%s: cannot make the GPU's context current (%s)", what, cuda_error(r));
        return 1;
    }
    return 0;
}

static void leave(void) {
    CUcontext ignored;
    cu.CtxPopCurrent(&ignored);
}

static int alloc(CUdeviceptr *p, size_t bytes, const char *what, int index) {
    CUresult r = cu.MemAlloc(p, bytes ? bytes : 256);
    if (r != CUDA_SUCCESS) {
        *p = 0;
        set_error("kiln_model_create: cannot allocate the %zu-byte device buffer for %s %d (%s)", bytes, what, index, cuda_error(r));
        return 1;
    }
    return 0;
}

/* The GPU to run on (KILN_CUDA_DEVICE, default 0), checked against the architecture the PTX is for. */
static int pick_device(KilnModel *m) {
    int count = 0;
    CUresult r = cu.DeviceGetCount(&count);
    if (r != CUDA_SUCCESS || count == 0) {
        set_error("kiln_model_create: the NVIDIA driver reports no GPU (%s)", r != CUDA_SUCCESS ? cuda_error(r) : "0 devices");
        return 1;
    }
    const char *env = getenv("KILN_CUDA_DEVICE");
    int want = env ? atoi(env) : 0;
    if (want < 0 || want >= count) {
        set_error("kiln_model_create: KILN_CUDA_DEVICE=%s, but this machine has %d GPU(s)", env, count);
        return 1;
    }
    if ((r = cu.DeviceGet(&m->device, want)) != CUDA_SUCCESS) {
        set_error("kiln_model_create: cuDeviceGet(%d) failed (%s)", want, cuda_error(r));
        return 1;
    }
    int major = 0, minor = 0;
    cu.DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, m->device);
    cu.DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, m->device);
    int built = atoi(KILN_DEV_ARCH + 3); /* "sm_90" */
    if (major * 10 + minor < built) {
        char name[256] = "";
        cu.DeviceGetName(name, sizeof name, m->device);
        set_error("kiln_model_create: this library's PTX is for %s, but GPU %d (%s) is sm_%d%d; compile it again with "
                  "--target cuda-sm%d%d (or --target cuda on that machine)",
                  KILN_DEV_ARCH, want, name, major, minor, major, minor);
        return 1;
    }
    return 0;
}

KILN_API KilnModel *kiln_model_create(int num_threads) {
    (void)num_threads; /* the GPU decides its own parallelism */
    if (load_cuda()) return NULL;
    KilnModel *m = calloc(1, sizeof *m);
    if (!m) {
        set_error("kiln_model_create: out of memory");
        return NULL;
    }
    int max_args = 1;
    for (int c = 0; c < KILN_DEV_NUM_CALLS; c++)
        if (KILN_DEV_CALLS[c].num_args > max_args) max_args = KILN_DEV_CALLS[c].num_args;
    m->functions = calloc(KILN_DEV_NUM_CALLS + 1, sizeof(CUfunction));
    m->inputs = calloc(KILN_DEV_NUM_INPUTS + 1, sizeof(CUdeviceptr));
    m->outputs = calloc(KILN_DEV_NUM_OUTPUTS + 1, sizeof(CUdeviceptr));
    m->constants = calloc(KILN_DEV_NUM_CONSTANTS + 1, sizeof(CUdeviceptr));
    m->slots = calloc(KILN_DEV_NUM_SLOTS + 1, sizeof(CUdeviceptr));
    m->arg_values = calloc((size_t)max_args, sizeof(CUdeviceptr));
    m->arg_pointers = calloc((size_t)max_args, sizeof(void *));
    m->device_ms = -1;
    if (!m->functions || !m->inputs || !m->outputs || !m->constants || !m->slots || !m->arg_values || !m->arg_pointers) {
        set_error("kiln_model_create: out of memory");
        kiln_model_destroy(m);
        return NULL;
    }
    if (pick_device(m)) goto fail_early;
    CUresult r = cu.PrimaryCtxRetain(&m->context, m->device);
    if (r != CUDA_SUCCESS) {
        set_error("kiln_model_create: cannot retain the GPU's primary context (%s)", cuda_error(r));
        m->context = NULL;
        goto fail_early;
    }
    if (enter(m, "kiln_model_create")) goto fail_early;

    static __thread char log[16384];
    log[0] = 0;
    int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {log, (void *)(uintptr_t)sizeof log};
    if ((r = cu.ModuleLoadDataEx(&m->module, kiln_dev_source, 2, options, values)) != CUDA_SUCCESS) {
        m->module = NULL;
        set_error("kiln_model_create: the driver could not load the PTX module for %s (%s)%s%s", KILN_DEV_ARCH, cuda_error(r),
                  log[0] ? "; JIT log:\n" : "", log);
        goto fail;
    }
    if ((r = cu.StreamCreate(&m->stream, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS) {
        m->stream = NULL;
        set_error("kiln_model_create: cuStreamCreate failed (%s)", cuda_error(r));
        goto fail;
    }
    const char *profile = getenv("KILN_CUDA_PROFILE");
    if (profile && (strcmp(profile, "1") == 0 || strcmp(profile, "2") == 0)) {
        m->print_profile = strcmp(profile, "2") == 0;
        if (!(m->events = calloc(KILN_DEV_NUM_CALLS + 1, sizeof(CUevent)))) {
            set_error("kiln_model_create: out of memory");
            goto fail;
        }
        for (int e = 0; e <= KILN_DEV_NUM_CALLS; e++)
            if ((r = cu.EventCreate(&m->events[e], 0)) != CUDA_SUCCESS) {
                m->events[e] = NULL;
                set_error("kiln_model_create: cuEventCreate failed (%s)", cuda_error(r));
                goto fail;
            }
    }
    for (int i = 0; i < KILN_DEV_NUM_INPUTS; i++)
        if (alloc(&m->inputs[i], KILN_DEV_INPUT_BYTES[i], "input", i)) goto fail;
    for (int i = 0; i < KILN_DEV_NUM_OUTPUTS; i++)
        if (alloc(&m->outputs[i], KILN_DEV_OUTPUT_BYTES[i], "output", i)) goto fail;
    for (int i = 0; i < KILN_DEV_NUM_SLOTS; i++)
        if (alloc(&m->slots[i], KILN_DEV_SLOT_BYTES[i], "workspace slot", i)) goto fail;
    for (int i = 0; i < KILN_DEV_NUM_CONSTANTS; i++) {
        if (alloc(&m->constants[i], KILN_DEV_CONSTANTS[i].size, "constant", i)) goto fail;
        if (KILN_DEV_CONSTANTS[i].size &&
            (r = cu.MemcpyHtoD(m->constants[i], kiln_dev_constant_data + KILN_DEV_CONSTANTS[i].offset, KILN_DEV_CONSTANTS[i].size)) !=
                CUDA_SUCCESS) {
            set_error("kiln_model_create: copying constant %d to the GPU failed (%s)", i, cuda_error(r));
            goto fail;
        }
    }
    for (int c = 0; c < KILN_DEV_NUM_CALLS; c++)
        if ((r = cu.ModuleGetFunction(&m->functions[c], m->module, KILN_DEV_CALLS[c].kernel)) != CUDA_SUCCESS) {
            set_error("kiln_model_create: the PTX module has no kernel %s (%s)", KILN_DEV_CALLS[c].kernel, cuda_error(r));
            goto fail;
        }
    leave();
    return m;
fail:
    leave();
fail_early:
    kiln_model_destroy(m);
    return NULL;
}

/* Sums the kernels' event times of the run just finished into m->device_ms. */
static int collect_profile(KilnModel *m, const char *what) {
    double total = 0;
    for (int c = 0; c < KILN_DEV_NUM_CALLS; c++) {
        float ms = 0;
        CUresult r = cu.EventElapsedTime(&ms, m->events[c], m->events[c + 1]);
        if (r != CUDA_SUCCESS) {
            set_error("%s: reading the kernels' CUDA events failed (%s)", what, cuda_error(r));
            m->device_ms = -1;
            return 1;
        }
        if (m->print_profile) fprintf(stderr, "kiln cuda profile: %-48s %9.3f ms\n", KILN_DEV_CALLS[c].kernel, ms);
        total += ms;
    }
    m->device_ms = total;
    return 0;
}

/* Launches every kernel on the handle's stream with the given input and output buffers; 0 on success. */
static int launch_all(KilnModel *m, const CUdeviceptr *ins, const CUdeviceptr *outs, const char *what) {
    CUresult r;
    if (m->events && (r = cu.EventRecord(m->events[0], m->stream)) != CUDA_SUCCESS) {
        set_error("%s: cuEventRecord failed (%s)", what, cuda_error(r));
        return 1;
    }
    for (int c = 0; c < KILN_DEV_NUM_CALLS; c++) {
        const KilnDevCall *call = &KILN_DEV_CALLS[c];
        for (int a = 0; a < call->num_args; a++) {
            const KilnDevArg *arg = &call->args[a];
            m->arg_values[a] = arg->kind == KILN_ARG_INPUT ? ins[arg->index]
                               : arg->kind == KILN_ARG_OUTPUT ? outs[arg->index]
                               : arg->kind == KILN_ARG_CONSTANT ? m->constants[arg->index]
                                                                : m->slots[arg->index];
            m->arg_pointers[a] = &m->arg_values[a];
        }
        if (kiln_profile_times) {
            if ((r = cu.StreamSynchronize(m->stream)) != CUDA_SUCCESS) {
                set_error("%s: the GPU failed before kernel %s (%s)", what, call->kernel, cuda_error(r));
                return 1;
            }
            kiln_profile_times[2 * c] = kiln_now_ns();
        }
        r = cu.LaunchKernel(m->functions[c], (unsigned)call->grid[0], (unsigned)call->grid[1], (unsigned)call->grid[2],
                            (unsigned)call->block[0], (unsigned)call->block[1], (unsigned)call->block[2], 0, m->stream, m->arg_pointers,
                            NULL);
        if (r != CUDA_SUCCESS) {
            set_error("%s: launching kernel %s (%zux%zux%zu blocks of %zux%zux%zu threads) failed (%s)", what, call->kernel, call->grid[0],
                      call->grid[1], call->grid[2], call->block[0], call->block[1], call->block[2], cuda_error(r));
            cu.StreamSynchronize(m->stream);
            return 1;
        }
        if (m->events && (r = cu.EventRecord(m->events[c + 1], m->stream)) != CUDA_SUCCESS) {
            set_error("%s: cuEventRecord failed (%s)", what, cuda_error(r));
            cu.StreamSynchronize(m->stream);
            return 1;
        }
        if (kiln_profile_times) {
            if ((r = cu.StreamSynchronize(m->stream)) != CUDA_SUCCESS) {
                set_error("%s: kernel %s failed (%s)", what, call->kernel, cuda_error(r));
                return 1;
            }
            kiln_profile_times[2 * c + 1] = kiln_now_ns();
        }
    }
    return 0;
}

static int finish(KilnModel *m, const char *what) {
    CUresult r = cu.StreamSynchronize(m->stream);
    if (r != CUDA_SUCCESS) {
        set_error("%s: the GPU failed while running the model (%s)", what, cuda_error(r));
        return 1;
    }
    return m->events ? collect_profile(m, what) : 0;
}

KILN_API int kiln_model_run(KilnModel *m, const void *const *inputs, void *const *outputs) {
    const char *what = "kiln_model_run";
    if (check_run_args(m, inputs, outputs, what) || enter(m, what)) return 1;
    int status = 1;
    CUresult r;
    for (int i = 0; i < KILN_DEV_NUM_INPUTS; i++) {
        if (KILN_DEV_INPUT_BYTES[i] == 0) continue;
        if ((r = cu.MemcpyHtoDAsync(m->inputs[i], inputs[i], KILN_DEV_INPUT_BYTES[i], m->stream)) != CUDA_SUCCESS) {
            set_error("%s: copying input %d ('%s') to the GPU failed (%s)", what, i, KILN_DEV_INPUT_NAMES[i], cuda_error(r));
            cu.StreamSynchronize(m->stream);
            goto done;
        }
    }
    if (launch_all(m, m->inputs, m->outputs, what)) goto done;
    for (int i = 0; i < KILN_DEV_NUM_OUTPUTS; i++) {
        if (KILN_DEV_OUTPUT_BYTES[i] == 0) continue;
        if ((r = cu.MemcpyDtoHAsync(outputs[i], m->outputs[i], KILN_DEV_OUTPUT_BYTES[i], m->stream)) != CUDA_SUCCESS) {
            set_error("%s: copying output %d ('%s') from the GPU failed (%s)", what, i, KILN_DEV_OUTPUT_NAMES[i], cuda_error(r));
            cu.StreamSynchronize(m->stream);
            goto done;
        }
    }
    status = finish(m, what);
done:
    leave();
    return status;
}

KILN_API int kiln_model_run_device(KilnModel *m, const void *const *inputs, void *const *outputs) {
    const char *what = "kiln_model_run_device";
    if (check_run_args(m, inputs, outputs, what)) return 1;
    CUdeviceptr ins[KILN_DEV_NUM_INPUTS + 1], outs[KILN_DEV_NUM_OUTPUTS + 1];
    for (int i = 0; i < KILN_DEV_NUM_INPUTS; i++) {
        ins[i] = (CUdeviceptr)(uintptr_t)inputs[i];
        if (ins[i] % 16) {
            set_error("%s: input %d ('%s') at 0x%llx is not 16-byte aligned (the kernels load whole vectors; cuMemAlloc gives 256)", what,
                      i, KILN_DEV_INPUT_NAMES[i], ins[i]);
            return 1;
        }
    }
    for (int i = 0; i < KILN_DEV_NUM_OUTPUTS; i++) {
        outs[i] = (CUdeviceptr)(uintptr_t)outputs[i];
        if (outs[i] % 16) {
            set_error("%s: output %d ('%s') at 0x%llx is not 16-byte aligned (the kernels store whole vectors; cuMemAlloc gives 256)",
                      what, i, KILN_DEV_OUTPUT_NAMES[i], outs[i]);
            return 1;
        }
    }
    if (enter(m, what)) return 1;
    int status = launch_all(m, ins, outs, what) ? 1 : finish(m, what);
    leave();
    return status;
}

/* The kernels' GPU time of the handle's last run in milliseconds; -1 when profiling is off (KILN_CUDA_PROFILE). */
KILN_API double kiln_model_device_ms(const KilnModel *m) {
    return m ? m->device_ms : -1;
}

KILN_API void kiln_model_destroy(KilnModel *m) {
    if (!m) return;
    if (m->context && cu.CtxPushCurrent(m->context) == CUDA_SUCCESS) {
        if (m->stream) cu.StreamSynchronize(m->stream);
        for (int e = 0; m->events && e <= KILN_DEV_NUM_CALLS; e++)
            if (m->events[e]) cu.EventDestroy(m->events[e]);
        CUdeviceptr *groups[4] = {m->inputs, m->outputs, m->constants, m->slots};
        int counts[4] = {KILN_DEV_NUM_INPUTS, KILN_DEV_NUM_OUTPUTS, KILN_DEV_NUM_CONSTANTS, KILN_DEV_NUM_SLOTS};
        for (int g = 0; g < 4; g++)
            for (int i = 0; groups[g] && i < counts[g]; i++)
                if (groups[g][i]) cu.MemFree(groups[g][i]);
        if (m->stream) cu.StreamDestroy(m->stream);
        if (m->module) cu.ModuleUnload(m->module);
        leave();
    }
    if (m->context) cu.PrimaryCtxRelease(m->device);
    free(m->functions);
    free(m->inputs);
    free(m->outputs);
    free(m->constants);
    free(m->slots);
    free(m->arg_values);
    free(m->arg_pointers);
    free(m->events);
    free(m);
}
