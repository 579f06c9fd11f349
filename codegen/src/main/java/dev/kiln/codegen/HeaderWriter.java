package dev.kiln.codegen;

import dev.kiln.codegen.ModuleSpec.TensorSpec;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Writes the C header of a compiled model: the five functions of the ABI with their contracts,
 * and a table of the inputs and outputs with {@code #define}s for their count and byte sizes.
 */
public final class HeaderWriter {
    private HeaderWriter() {}

    /** The header of {@code spec} compiled into the library file {@code libName} (e.g. "libresnet.so"). */
    public static String header(ModuleSpec spec, String libName) {
        return header(spec, libName, "");
    }

    /** The header with {@code extras}: declarations of the backend's entry points beyond the five (see {@link Backend#headerExtras}). */
    public static String header(ModuleSpec spec, String libName, String extras) {
        String prefix = "KILN_" + macro(spec.name());
        String guard = prefix + "_H";
        StringBuilder h = new StringBuilder();
        h.append("/*\n");
        h.append(" * ").append(comment(libName)).append(": model '").append(comment(spec.name())).append("' compiled by Kiln.\n");
        h.append(" * Generated; do not edit. Link with -l").append(linkName(libName))
                .append(" (or dlopen the library); it needs only libc and libm.\n");
        h.append(" *\n");
        table(h, "Inputs", spec.inputs());
        h.append(" *\n");
        table(h, "Outputs", spec.outputs());
        h.append(" *\n");
        h.append(" * Buffers are dense, row-major, in native byte order, and need no particular alignment\n");
        h.append(" * (64-byte alignment is fastest).\n");
        h.append(" */\n");
        h.append("#ifndef ").append(guard).append('\n');
        h.append("#define ").append(guard).append("\n\n");
        h.append("#include <stdint.h>\n\n");
        h.append("#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");

        h.append("#define ").append(prefix).append("_NUM_INPUTS ").append(spec.inputs().size()).append('\n');
        h.append("#define ").append(prefix).append("_NUM_OUTPUTS ").append(spec.outputs().size()).append('\n');
        defines(h, prefix + "_INPUT", spec.inputs());
        defines(h, prefix + "_OUTPUT", spec.outputs());
        h.append("#define ").append(prefix).append("_WORKSPACE_BYTES ").append(MemoryPlanner.alignUp(spec.workspaceBytes()))
                .append("ULL /* allocated by each kiln_model_create */\n\n");

        h.append("""
                /* An instance of the model: its thread count and its own workspace. Opaque. */
                typedef struct KilnModel KilnModel;

                /*
                 * The model's metadata as JSON: {"inputs": [{"name", "dtype", "shape"}], "outputs": [...]}.
                 * The string is static; do not free it.
                 */
                const char *kiln_model_metadata(void);

                /*
                 * Creates a handle. num_threads is the number of threads parallel kernels use; 0 means
                 * one per online CPU; negative is an error. Returns NULL on failure (out of memory, bad
                 * argument): see kiln_model_last_error(). Free the handle with kiln_model_destroy.
                 */
                KilnModel *kiln_model_create(int num_threads);

                /*
                 * Runs the model once. inputs[i] points to input i and outputs[i] to output i, in the
                 * order of the table above; the caller owns all buffers, which must not overlap. Returns
                 * 0 on success; nonzero if the handle, an array or a buffer pointer is NULL, with a
                 * message in kiln_model_last_error().
                 * Thread safety: use one handle from one thread at a time; separate handles may run
                 * concurrently, each on its own thread.
                 */
                int kiln_model_run(KilnModel *model, const void *const *inputs, void *const *outputs);

                /* Frees a handle and its workspace. NULL is allowed and does nothing. */
                void kiln_model_destroy(KilnModel *model);

                /*
                 * The message of the last failed call on the calling thread, "" if none failed yet.
                 * Static string; do not free it. Successful calls leave it unchanged.
                 */
                const char *kiln_model_last_error(void);

                /*
                 * Profiling (used by `kiln bench --profile`; kiln_model_run pays nothing for it).
                 * kiln_model_profile_info(): a static JSON array describing the kernel calls of one run,
                 * in order: [{"kernel", "node", "ops": [...], "template", "layout", "flops", "bytes"}].
                 * kiln_model_run_profiled(): runs the model like kiln_model_run and stores, for call i,
                 * its start and end times in times[2*i] and times[2*i+1] (CLOCK_MONOTONIC nanoseconds;
                 * on a GPU each call is waited for before the next starts). times holds two entries per
                 * element of the info array. Returns 0 on success, like kiln_model_run.
                 */
                const char *kiln_model_profile_info(void);
                int kiln_model_run_profiled(KilnModel *model, const void *const *inputs, void *const *outputs,
                                            int64_t *times);

                """);
        h.append(extras);
        h.append("#ifdef __cplusplus\n}\n#endif\n\n");
        h.append("#endif /* ").append(guard).append(" */\n");
        return h.toString();
    }

    private static void table(StringBuilder h, String title, List<TensorSpec> tensors) {
        h.append(" * ").append(title).append(":\n");
        if (tensors.isEmpty()) {
            h.append(" *   (none)\n");
            return;
        }
        h.append(String.format(Locale.ROOT, " *   %-5s %-24s %-8s %-20s %s%n", "index", "name", "dtype", "shape", "bytes"));
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec t = tensors.get(i);
            String shape = t.shape().stream().map(String::valueOf).collect(Collectors.joining(", ", "[", "]"));
            h.append(String.format(Locale.ROOT, " *   %-5d %-24s %-8s %-20s %d%n", i, comment(t.name()),
                    ModuleSpec.dtypeName(t.dtype()), shape, t.bytes()));
            if (!t.shapeOutput().isEmpty())
                h.append(" *         its length depends on the data: the shape above is its bound, the run writes the\n"
                        + " *         tensor at the start of the buffer and its actual shape into '" + comment(t.shapeOutput()) + "'\n");
        }
    }

    private static void defines(StringBuilder h, String prefix, List<TensorSpec> tensors) {
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec t = tensors.get(i);
            h.append("#define ").append(prefix).append('_').append(i).append("_BYTES ").append(t.bytes())
                    .append("ULL /* ").append(comment(t.name())).append(" */\n");
        }
        // Named aliases, when the names give distinct macros.
        List<String> names = tensors.stream().map(t -> macro(t.name())).toList();
        for (int i = 0; i < tensors.size(); i++) {
            if (names.indexOf(names.get(i)) != names.lastIndexOf(names.get(i))) continue;
            h.append("#define ").append(prefix).append('_').append(names.get(i)).append("_INDEX ").append(i).append('\n');
        }
    }

    /** An upper-case C identifier fragment: anything else becomes '_'; a leading digit gets a '_'. */
    static String macro(String s) {
        String r = (s == null || s.isEmpty() ? "MODEL" : s).toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9_]", "_");
        return Character.isDigit(r.charAt(0)) ? "_" + r : r;
    }

    /** Text safe inside a C comment. */
    private static String comment(String s) {
        return s.replace("*/", "* /").replace("/*", "/ *").replaceAll("[\\r\\n]", " ");
    }

    private static String linkName(String libName) {
        String n = libName;
        if (n.startsWith("lib")) n = n.substring(3);
        int dot = n.indexOf(".so");
        return dot > 0 ? n.substring(0, dot) : n;
    }
}
