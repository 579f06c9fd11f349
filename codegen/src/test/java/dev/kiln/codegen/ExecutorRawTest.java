package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.codegen.ModuleSpec.KernelCall;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.Target;
import dev.kiln.targets.cpu.NativeModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.llvm.global.LLVM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executor and the linker on kernels written by hand in LLVM IR (independent of the kernel codegen). */
class ExecutorRawTest {
    static final int N = 1000;
    static final String KERNELS = """
            define void @scale(ptr noalias %x, ptr noalias %w, ptr noalias %y, i32 %nt) {
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
            define void @relu(ptr noalias %y, ptr noalias %out, i32 %nt) {
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
            declare float @llvm.maxnum.f32(float, float)
            """;

    static float[] weights() {
        float[] w = new float[N];
        for (int i = 0; i < N; i++) w[i] = (i % 7) - 3 + 0.5f * (i % 3);
        return w;
    }

    static byte[] bytes(float[] f) {
        ByteBuffer b = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(f);
        return b.array();
    }

    static ModuleSpec spec() {
        Buffer x = new Buffer("x", ScalarType.F32, N), w = new Buffer("w", ScalarType.F32, N), y = new Buffer("y", ScalarType.F32, N),
                out = new Buffer("out", ScalarType.F32, N);
        // Bodies are placeholders: this test emits the kernels from IR text.
        PrimFunc scale = new PrimFunc("scale", List.of(x, w, y), new Stmt.Seq(List.of()));
        PrimFunc relu = new PrimFunc("relu", List.of(y, out), new Stmt.Seq(List.of()));
        return new ModuleSpec("raw", List.of(new TensorSpec("x", ScalarType.F32, List.of((long) N))),
                List.of(new TensorSpec("out", ScalarType.F32, List.of((long) N))),
                List.of(new ModuleSpec.Constant("w", bytes(weights()))), 4096, List.of(scale, relu),
                List.of(new KernelCall("scale", List.of(new Arg.Input(0), new Arg.Const(0), new Arg.Workspace(64))),
                        new KernelCall("relu", List.of(new Arg.Workspace(64), new Arg.Output(0)))),
                null);
    }

    @Test
    void compilesLinksLoadsAndRuns(@TempDir Path dir) throws Exception {
        Target t = Target.avx2();
        Path obj = dir.resolve("raw.o"), so = dir.resolve("libraw.so");
        try (RawLlvm m = new RawLlvm(KERNELS, t)) {
            ExecutorCodegen.emit(m.ctx, m.module, spec());
            m.optimize();
            Files.write(obj, m.emit(LLVM.LLVMObjectFile));
        }
        Linker.linkShared(obj, so, t);
        if (System.getProperty("keep") != null) Files.copy(so, Path.of(System.getProperty("keep")), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        float[] w = weights();
        try (NativeModel model = NativeModel.load(so); Arena arena = Arena.ofConfined()) {
            assertEquals("x", model.inputs().get(0).name());
            assertArrayEquals(new long[] {N}, model.outputs().get(0).shape());
            MemorySegment in = arena.allocate(4L * N, 64), out = arena.allocate(4L * N, 64);
            for (int i = 0; i < N; i++) in.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i - 500) * 0.01f);
            try (NativeModel.Session s = model.createSession(1)) {
                s.run(new MemorySegment[] {in}, new MemorySegment[] {out});
            }
            for (int i = 0; i < N; i++) {
                float expect = Math.max(0f, (i - 500) * 0.01f * w[i]);
                assertEquals(expect, out.getAtIndex(ValueLayout.JAVA_FLOAT, i), 0f, "element " + i);
            }
        }
    }
}
