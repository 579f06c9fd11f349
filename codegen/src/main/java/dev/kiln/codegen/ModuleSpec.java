package dev.kiln.codegen;

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
