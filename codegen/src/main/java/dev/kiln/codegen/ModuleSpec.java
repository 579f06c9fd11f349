package dev.kiln.codegen;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import java.util.List;

/**
 * Everything the ahead-of-time executor of one compiled model needs: its kernels, the order in
 * which they run and which buffers each call gets, the weights, the workspace size of the
 * static memory plan, and the metadata JSON returned by {@code kiln_model_metadata()}.
 */
public record ModuleSpec(String name, List<TensorSpec> inputs, List<TensorSpec> outputs, List<Constant> constants,
                         long workspaceBytes, List<PrimFunc> kernels, List<KernelCall> calls, String metadataJson) {
    public ModuleSpec {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        constants = List.copyOf(constants);
        kernels = List.copyOf(kernels);
        calls = List.copyOf(calls);
    }

    /**
     * The metadata JSON to embed: {@link #metadataJson} if given, else one generated from the
     * inputs and outputs in the schema the loader reads: {@code {"name", "inputs": [{"name",
     * "dtype", "shape"}], "outputs": [...]}}, dtypes named as in numpy ({@code float32}, ...).
     */
    public String metadataJsonOrDefault() {
        if (metadataJson != null && !metadataJson.isBlank()) return metadataJson;
        JsonObject o = new JsonObject();
        o.addProperty("name", name);
        o.add("inputs", tensorsJson(inputs));
        o.add("outputs", tensorsJson(outputs));
        return o.toString();
    }

    private static JsonArray tensorsJson(List<TensorSpec> specs) {
        JsonArray a = new JsonArray();
        for (TensorSpec s : specs) {
            JsonObject t = new JsonObject();
            t.addProperty("name", s.name());
            t.addProperty("dtype", dtypeName(s.dtype()));
            JsonArray shape = new JsonArray();
            s.shape().forEach(shape::add);
            t.add("shape", shape);
            a.add(t);
        }
        return a;
    }

    /** The numpy/ONNX-style name of a scalar type, as used in the metadata and the header. */
    public static String dtypeName(ScalarType t) {
        return switch (t) {
            case BOOL -> "bool";
            case I8 -> "int8";
            case I16 -> "int16";
            case I32 -> "int32";
            case I64 -> "int64";
            case U8 -> "uint8";
            case U16 -> "uint16";
            case U32 -> "uint32";
            case U64 -> "uint64";
            case F16 -> "float16";
            case F32 -> "float32";
            case F64 -> "float64";
        };
    }

    /** A model input or output as the C ABI sees it: a dense row-major buffer. */
    public record TensorSpec(String name, ScalarType dtype, List<Long> shape) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public long bytes() {
            return numel() * dtype.bytes();
        }
    }

    /** Constant data (weights) embedded read-only in the library, 64-byte aligned. */
    public record Constant(String name, byte[] data) {}

    /** One call of a kernel by the executor, with one argument per kernel parameter. */
    public record KernelCall(String kernel, List<Arg> args) {
        public KernelCall {
            args = List.copyOf(args);
        }
    }

    /** Where a kernel argument points. */
    public sealed interface Arg {
        /** The caller's input buffer number {@code index} (read-only). */
        record Input(int index) implements Arg {}

        /** The caller's output buffer number {@code index}. */
        record Output(int index) implements Arg {}

        /** The embedded constant number {@code index} (read-only). */
        record Const(int index) implements Arg {}

        /** The handle's workspace at {@code offset} bytes (a multiple of 64). */
        record Workspace(long offset) implements Arg {}
    }
}
