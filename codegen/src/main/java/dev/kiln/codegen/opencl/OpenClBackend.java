package dev.kiln.codegen.opencl;

import dev.kiln.codegen.Backend;
import dev.kiln.codegen.CBuild;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.codegen.ModuleSpec.KernelCall;
import dev.kiln.codegen.Packaging;
import dev.kiln.codegen.Toolchain;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.analysis.LaunchExtents;
import dev.kiln.targets.GpuTarget;
import dev.kiln.targets.TargetException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The OpenCL backend: kernels printed as OpenCL C ({@link OpenClPrinter}), and a library with the
 * same C ABI as the CPU targets whose executor (the resource {@code opencl/kiln_opencl.c}) opens
 * the ICD loader at {@code kiln_model_create}, builds the embedded program once per handle, keeps
 * the weights in device buffers and runs the kernels in order on one in-order queue. The plan it
 * runs (kernels, arguments, launch sizes, buffers) is a generated C file; the weights are
 * assembled in as one blob ({@code .incbin}), so the generated source stays small. The host code
 * is built by the C compiler of the CPU the target's library runs on ({@link
 * dev.kiln.targets.opencl.OpenClTargets#hostCpu}: this machine's, or aarch64-linux-gnu-gcc against
 * the aarch64 sysroot for the Mali and Adreno profiles).
 */
public final class OpenClBackend implements Backend {
    private final GpuTarget target;
    private final Toolchain host;

    public OpenClBackend(GpuTarget target, Path sysroot) {
        if (target.api() != GpuTarget.Api.OPENCL) throw new IllegalArgumentException("not an OpenCL target: " + target);
        this.target = target;
        this.host = Toolchain.of(dev.kiln.targets.opencl.OpenClTargets.hostCpu(target), sysroot);
    }

    @Override
    public GpuTarget target() {
        return target;
    }

    @Override
    public Emitted emit(ModuleSpec spec, Path dumpDir) {
        String program = OpenClPrinter.program(spec.kernels());
        if (dumpDir != null) {
            try {
                Files.createDirectories(dumpDir);
                Files.writeString(dumpDir.resolve("kernels.cl"), program);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new Emitted(plan(spec, program).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void pack(Emitted module, ModuleSpec spec, Packaging packaging, Path out, String finalName) {
        if (packaging == Packaging.STATIC_EXECUTABLE) {
            throw new TargetException("an OpenCL program cannot be linked statically: it opens the OpenCL ICD loader "
                    + "(libOpenCL.so.1) at run time; use --emit exe without --static");
        }
        Path dir = null;
        try {
            dir = Files.createTempDirectory("kiln-opencl");
            Files.write(dir.resolve("kiln_opencl.h"), CBuild.resource("opencl/kiln_opencl.h"));
            Path runtime = CBuild.cachedObject(host, dir, "opencl/kiln_opencl.c", "opencl/kiln_opencl.h",
                    List.of("-fPIC", "-fvisibility=hidden"));
            Path weights = dir.resolve("weights.bin");
            Files.write(weights, constantBlob(spec));
            Path plan = dir.resolve("kiln_opencl_plan.c");
            Files.writeString(plan, new String(module.bytes(), StandardCharsets.UTF_8)
                    + incbin(weights));
            List<String> args = new ArrayList<>(List.of(host.cCompiler(), "-std=gnu11", "-O2", "-fPIC", "-fvisibility=hidden",
                    "-I", dir.toString(), "-o", out.toString(), plan.toString(), runtime.toString()));
            if (packaging == Packaging.LIBRARY) {
                args.addAll(List.of("-shared", "-Wl,-soname," + finalName, "-Wl,-z,defs"));
            } else {
                Files.write(dir.resolve("kiln_main.h"), CBuild.resource("kiln_main.h"));
                Path main = CBuild.cachedObject(host, dir, "kiln_main.c", "kiln_main.h", List.of());
                Path io = dir.resolve("kiln_model_io.c");
                Files.writeString(io, CBuild.ioSource(spec, finalName));
                args.addAll(List.of(io.toString(), main.toString()));
            }
            args.addAll(List.of("-Wl,-z,noexecstack", "-ldl", "-lm"));
            CBuild.run(args, dir, host);
        } catch (IOException e) {
            throw new TargetException("cannot build the OpenCL library " + out + ": " + e.getMessage(), e);
        } finally {
            if (dir != null) CBuild.deleteTree(dir);
        }
    }

    /** The plan as C: the program source, the kernels in call order, the buffers. */
    static String plan(ModuleSpec spec, String program) {
        StringBuilder c = new StringBuilder("/* Generated by Kiln: the OpenCL plan of model " + spec.name() + ". */\n");
        c.append("#include \"kiln_opencl.h\"\n\n");
        c.append("const char KILN_CL_SOURCE[] = ").append(CBuild.cString(program)).append(";\n");
        c.append("const char KILN_CL_METADATA[] = ").append(CBuild.cString(spec.metadataJsonOrDefault())).append(";\n");
        tensors(c, "INPUT", spec.inputs());
        tensors(c, "OUTPUT", spec.outputs());

        // Constants: offsets into the blob, each 64-byte aligned as constantBlob lays them out.
        c.append("const int KILN_CL_NUM_CONSTANTS = ").append(spec.constants().size()).append(";\n");
        c.append("const KilnClConstant KILN_CL_CONSTANTS[] = {");
        long offset = 0;
        for (ModuleSpec.Constant k : spec.constants()) {
            c.append("{").append(offset).append(", ").append(k.data().length).append("}, ");
            offset += align(k.data().length);
        }
        c.append("{0, 0}};\n");

        // Workspace: one device buffer per distinct offset of the static plan, as large as the
        // largest value placed there (values sharing an offset never live at the same time).
        Map<Long, Integer> slotOf = new LinkedHashMap<>();
        Map<Integer, Long> slotBytes = new HashMap<>();
        Map<String, PrimFunc> kernels = new HashMap<>();
        Map<String, String> clNames = new HashMap<>();
        List<String> names = OpenClPrinter.kernelNames(spec.kernels());
        for (int k = 0; k < spec.kernels().size(); k++) {
            kernels.put(spec.kernels().get(k).name(), spec.kernels().get(k));
            clNames.put(spec.kernels().get(k).name(), names.get(k));
        }
        StringBuilder calls = new StringBuilder();
        int n = 0;
        for (KernelCall call : spec.calls()) {
            PrimFunc f = kernels.get(call.kernel());
            StringBuilder args = new StringBuilder("static const KilnClArg kiln_cl_args" + n + "[] = {");
            for (int i = 0; i < call.args().size(); i++) {
                Buffer param = f.params().get(i);
                String arg = switch (call.args().get(i)) {
                    case Arg.Input(int k) -> "{KILN_ARG_INPUT, " + k + "}";
                    case Arg.Output(int k) -> "{KILN_ARG_OUTPUT, " + k + "}";
                    case Arg.Const(int k) -> "{KILN_ARG_CONSTANT, " + k + "}";
                    case Arg.Workspace(long off) -> {
                        int slot = slotOf.computeIfAbsent(off, o -> slotOf.size());
                        slotBytes.merge(slot, param.size() * param.dtype().bytes(), Math::max);
                        yield "{KILN_ARG_SLOT, " + slot + "}";
                    }
                };
                args.append(arg).append(", ");
            }
            c.append(args).append("{0, 0}};\n");
            LaunchExtents e = LaunchExtents.of(f);
            calls.append("    {").append(CBuild.cString(clNames.get(call.kernel()))).append(", ").append(call.args().size())
                    .append(", kiln_cl_args").append(n).append(", {").append(e.grid().x()).append(", ").append(e.grid().y()).append(", ")
                    .append(e.grid().z()).append("}, {").append(e.block().x()).append(", ").append(e.block().y()).append(", ")
                    .append(e.block().z()).append("}},\n");
            n++;
        }
        c.append("const int KILN_CL_NUM_SLOTS = ").append(slotOf.size()).append(";\n");
        c.append("const size_t KILN_CL_SLOT_BYTES[] = {");
        for (int s = 0; s < slotOf.size(); s++) c.append(slotBytes.get(s)).append(", ");
        c.append("0};\n");
        c.append("const int KILN_CL_NUM_CALLS = ").append(n).append(";\n");
        c.append("const KilnClCall KILN_CL_CALLS[] = {\n").append(calls).append("    {0}\n};\n");
        return c.toString();
    }

    private static void tensors(StringBuilder c, String what, List<ModuleSpec.TensorSpec> specs) {
        c.append("const int KILN_CL_NUM_").append(what).append("S = ").append(specs.size()).append(";\n");
        c.append("const char *const KILN_CL_").append(what).append("_NAMES[] = {");
        for (var s : specs) c.append(CBuild.cString(s.name())).append(", ");
        c.append("0};\n");
        c.append("const size_t KILN_CL_").append(what).append("_BYTES[] = {");
        for (var s : specs) c.append(s.numel() * s.dtype().bytes()).append(", ");
        c.append("0};\n");
    }

    private static long align(long n) {
        return (n + 63) / 64 * 64;
    }

    /** Every constant, each starting at a 64-byte boundary. */
    static byte[] constantBlob(ModuleSpec spec) {
        long total = 0;
        for (var k : spec.constants()) total += align(k.data().length);
        if (total > Integer.MAX_VALUE - 64) throw new TargetException("the model's constants (" + total + " bytes) are too large for one blob");
        byte[] blob = new byte[(int) Math.max(total, 1)];
        int off = 0;
        for (var k : spec.constants()) {
            System.arraycopy(k.data(), 0, blob, off, k.data().length);
            off += (int) align(k.data().length);
        }
        return blob;
    }

    /**
     * The weights blob assembled into the library as kiln_cl_constant_data (hidden, read-only,
     * 64-byte aligned); the compiler runs in the blob's directory, so the name is enough.
     */
    private static String incbin(Path blob) {
        return "\n__asm__(\".section .rodata\\n.balign 64\\n.globl kiln_cl_constant_data\\n.hidden kiln_cl_constant_data\\n"
                + "kiln_cl_constant_data:\\n.incbin \\\"" + blob.getFileName() + "\\\"\\n.previous\\n\");\n";
    }
}
