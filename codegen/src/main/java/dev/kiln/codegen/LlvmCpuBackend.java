package dev.kiln.codegen;

import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.targets.CpuTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The CPU backend, for every CPU target LLVM knows (x86-64 with AVX2 or AVX-512, aarch64 with
 * NEON): kernels and executor through the LLVM C API into one position-independent object,
 * pinned to the target's triple, CPU and features; packaged by the bundled lld into a shared
 * library against the target's sysroot, or by the target's C compiler into a program
 * ({@link ExecutableLinker}). The architecture only shows in the {@link CpuTarget} and its
 * {@link Toolchain}: nothing here branches on x86 or ARM.
 */
public final class LlvmCpuBackend implements Backend {
    private final CpuTarget target;
    private final Toolchain toolchain;

    /** Fails at once (before any code is generated) when the target's sysroot is missing. */
    public LlvmCpuBackend(CpuTarget target, Path sysroot) {
        this.target = target;
        this.toolchain = Toolchain.of(target, sysroot);
    }

    @Override
    public CpuTarget target() {
        return target;
    }

    @Override
    public Emitted emit(ModuleSpec spec, Path dumpDir) {
        try (LlvmModule m = new LlvmModule(spec.name(), target)) {
            for (PrimFunc k : spec.kernels()) m.addKernel(k);
            ExecutorCodegen.emit(m, spec);
            m.optimize();
            byte[] object = m.emitObject();
            if (dumpDir != null) dump(m, dumpDir);
            return new Emitted(object);
        }
    }

    @Override
    public void pack(Emitted module, ModuleSpec spec, Packaging packaging, Path out, String finalName) {
        Path obj = out.resolveSibling(out.getFileName() + ".o");
        try {
            Files.write(obj, module.bytes());
            if (packaging == Packaging.LIBRARY) Linker.linkShared(obj, out, finalName, toolchain);
            else ExecutableLinker.link(toolchain, obj, spec, packaging == Packaging.STATIC_EXECUTABLE, out, finalName);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                Files.deleteIfExists(obj);
            } catch (IOException e) {
                // a leftover temporary object is named after the hidden temporary output
            }
        }
    }

    private static void dump(LlvmModule m, Path dumpDir) {
        try {
            Files.createDirectories(dumpDir);
            // The object is already emitted: zero the weights so the dumps stay readable and small.
            ExecutorCodegen.elideConstants(m.module());
            Files.writeString(dumpDir.resolve("kernels.ll"), m.printIr());
            Files.writeString(dumpDir.resolve("kernels.s"), m.emitAssembly());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
