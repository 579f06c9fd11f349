package dev.kiln.codegen;

import dev.kiln.targets.Target;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.llvm.global.LLVM;

/**
 * The executor, the linker and the header on kernels written by hand in LLVM IR, so that they
 * are tested independently of the loop-IR kernel code generation.
 */
class ExecutorRawTest extends CompiledModelContract {
    static final String KERNELS = """
            define void @scale(ptr noalias %x, ptr noalias %w, ptr noalias %y) {
            entry:
              br label %loop
            loop:
              %i = phi i64 [0, %entry], [%i1, %loop]
              %px = getelementptr float, ptr %x, i64 %i
              %pw = getelementptr float, ptr %w, i64 %i
              %py = getelementptr float, ptr %y, i64 %i
              %vx = load float, ptr %px
              %vw = load float, ptr %pw
              %v = fmul float %vx, %vw
              store float %v, ptr %py
              %i1 = add i64 %i, 1
              %c = icmp slt i64 %i1, 1000
              br i1 %c, label %loop, label %exit
            exit:
              ret void
            }
            define void @relu(ptr noalias %y, ptr noalias %out) {
            entry:
              br label %loop
            loop:
              %i = phi i64 [0, %entry], [%i1, %loop]
              %py = getelementptr float, ptr %y, i64 %i
              %po = getelementptr float, ptr %out, i64 %i
              %v = load float, ptr %py
              %r = call float @llvm.maxnum.f32(float %v, float 0.0)
              store float %r, ptr %po
              %i1 = add i64 %i, 1
              %c = icmp slt i64 %i1, 1000
              br i1 %c, label %loop, label %exit
            exit:
              ret void
            }
            define void @reverse(ptr noalias %y, ptr noalias %z) {
            entry:
              br label %loop
            loop:
              %i = phi i64 [0, %entry], [%i1, %loop]
              %r = sub i64 999, %i
              %py = getelementptr float, ptr %y, i64 %r
              %pz = getelementptr float, ptr %z, i64 %i
              %v = load float, ptr %py
              store float %v, ptr %pz
              %i1 = add i64 %i, 1
              %c = icmp slt i64 %i1, 1000
              br i1 %c, label %loop, label %exit
            exit:
              ret void
            }
            declare float @llvm.maxnum.f32(float, float)
            """;

    @Override
    void build(ModuleSpec spec, Path so) throws Exception {
        Target t = target();
        Path obj = so.resolveSibling("raw.o");
        try (RawLlvm m = new RawLlvm(KERNELS, t)) {
            ExecutorCodegen.emit(m.ctx, m.module, spec);
            m.optimize();
            Files.write(obj, m.emit(LLVM.LLVMObjectFile));
        }
        Linker.linkShared(obj, so, t);
        Files.delete(obj);
        String base = so.getFileName().toString().replaceAll("\\.so$", "");
        Files.writeString(so.resolveSibling(base + ".h"), HeaderWriter.header(spec, so.getFileName().toString()), StandardCharsets.UTF_8);
    }
}
