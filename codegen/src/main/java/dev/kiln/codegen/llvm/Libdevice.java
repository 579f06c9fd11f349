package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.llvm.LLVM.LLVMMemoryBufferRef;
import org.bytedeco.llvm.LLVM.LLVMModuleRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * NVIDIA's libdevice ({@code libdevice.10.bc} of the CUDA toolkit): the math library of PTX
 * modules. NVPTX lowers no libm call, so a module calling {@code __nv_sinf} and its kin gets
 * libdevice linked in, and every function but the kernels internalized, so the optimizer keeps
 * only what is called. Kiln's own f32 exp, log, tanh, erf, sigmoid and pow need none of it.
 */
final class Libdevice {
    static final String PREFIX = "__nv_";
    /** Where the bitcode is looked for: {@code KILN_LIBDEVICE} names the file itself. */
    static final String ENV = "KILN_LIBDEVICE";

    private Libdevice() {}

    /** Links libdevice into {@code m} when it calls into it; a {@link CodegenException} saying where to get it when absent. */
    static void linkIfNeeded(LlvmModule m) {
        List<String> needed = new ArrayList<>();
        for (LLVMValueRef fn = LLVMGetFirstFunction(m.module()); !Ir.isNull(fn); fn = LLVMGetNextFunction(fn)) {
            String name = LLVMGetValueName(fn).getString();
            if (LLVMIsDeclaration(fn) != 0 && name.startsWith(PREFIX)) needed.add(name);
        }
        if (needed.isEmpty()) return;
        Path file = find().orElseThrow(() -> new CodegenException("the kernels call " + String.join(", ", needed)
                + " from NVIDIA's libdevice, but libdevice.10.bc was not found: install the CUDA toolkit (its nvvm/libdevice folder), "
                + "set CUDA_HOME, or set " + ENV + " to the file"));
        LLVMMemoryBufferRef buffer = new LLVMMemoryBufferRef();
        BytePointer error = new BytePointer((Pointer) null);
        if (LLVMCreateMemoryBufferWithContentsOfFile(new BytePointer(file.toString()), buffer, error) != 0) {
            throw new CodegenException("cannot read libdevice " + file + ": " + error.getString());
        }
        LLVMModuleRef lib = new LLVMModuleRef();
        if (LLVMParseBitcodeInContext2(m.context(), buffer, lib) != 0) {
            LLVMDisposeMemoryBuffer(buffer);
            throw new CodegenException("libdevice " + file + " is not LLVM bitcode this LLVM reads; set " + ENV + " to another copy");
        }
        LLVMDisposeMemoryBuffer(buffer);
        LLVMSetTarget(lib, LLVMGetTarget(m.module()));
        LLVMSetDataLayout(lib, LLVMGetDataLayoutStr(m.module()));
        if (LLVMLinkModules2(m.module(), lib) != 0) throw new CodegenException("linking libdevice " + file + " failed");
        // Only the kernels are entry points: everything else may go once inlined.
        for (LLVMValueRef fn = LLVMGetFirstFunction(m.module()); !Ir.isNull(fn); fn = LLVMGetNextFunction(fn)) {
            if (LLVMIsDeclaration(fn) == 0 && LLVMGetFunctionCallConv(fn) != LLVMPTXKernelCallConv) LLVMSetLinkage(fn, LLVMInternalLinkage);
        }
    }

    /** {@code $KILN_LIBDEVICE}, else {@code $CUDA_HOME/nvvm/libdevice}, /usr/local/cuda*, Debian's nvidia-cuda-toolkit. */
    static Optional<Path> find() {
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) return Optional.of(Path.of(env)).filter(Files::isRegularFile);
        List<Path> dirs = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null && !home.isBlank()) dirs.add(Path.of(home));
        dirs.add(Path.of("/usr/local/cuda"));
        try (Stream<Path> s = Files.list(Path.of("/usr/local"))) {
            s.filter(p -> p.getFileName().toString().startsWith("cuda-")).sorted(Comparator.reverseOrder()).forEach(dirs::add);
        } catch (IOException e) {
            // no /usr/local: the other places remain
        }
        dirs.add(Path.of("/usr/lib/nvidia-cuda-toolkit"));
        for (Path d : dirs) {
            for (Path f : List.of(d.resolve("nvvm/libdevice/libdevice.10.bc"), d.resolve("libdevice/libdevice.10.bc"))) {
                if (Files.isRegularFile(f)) return Optional.of(f);
            }
        }
        return Optional.empty();
    }
}
