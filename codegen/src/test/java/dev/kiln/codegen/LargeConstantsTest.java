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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.llvm.global.LLVM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights of realistic size (60 MB, like BERT-base's encoder layers) embed byte-exact and in
 * reasonable time. The kernel gathers 4096 scattered bytes of the constant into the output.
 */
class LargeConstantsTest {
    static final int BYTES = 60 << 20;
    static final int PICKS = 4096;
    static final long STRIDE = 15359; // odd stride: the picks cover the whole constant

    static final String KERNEL = """
            define void @gather(ptr noalias %w, ptr noalias %out, i32 %nt) {
            entry:
              br label %loop
            loop:
              %i = phi i64 [0, %entry], [%i1, %loop]
              %off = mul i64 %i, 15359
              %pw = getelementptr i8, ptr %w, i64 %off
              %po = getelementptr i8, ptr %out, i64 %i
              %v = load i8, ptr %pw
              store i8 %v, ptr %po
              %i1 = add i64 %i, 1
              %c = icmp slt i64 %i1, 4096
              br i1 %c, label %loop, label %exit
            exit:
              ret void
            }
            """;

    @Test
    void sixtyMegabytesOfWeightsEmbedExactly(@TempDir Path dir) throws Exception {
        byte[] w = new byte[BYTES];
        new SplittableRandom(1).nextBytes(w);
        Buffer wb = new Buffer("w", ScalarType.U8, (PICKS - 1) * STRIDE + 1), ob = new Buffer("o", ScalarType.U8, PICKS);
        ModuleSpec spec = new ModuleSpec("big", List.of(), List.of(new TensorSpec("o", ScalarType.U8, List.of((long) PICKS))),
                List.of(new ModuleSpec.Constant("w", w)), 0,
                List.of(new PrimFunc("gather", List.of(wb, ob), new Stmt.Seq(List.of()))),
                List.of(new KernelCall("gather", List.of(new Arg.Const(0), new Arg.Output(0)))), null);
        Target t = Target.avx2();
        Path obj = dir.resolve("big.o"), so = dir.resolve("libbig.so");
        long t0 = System.nanoTime(), t1, t2, t3;
        try (RawLlvm m = new RawLlvm(KERNEL, t)) {
            ExecutorCodegen.emit(m.ctx, m.module, spec);
            t1 = System.nanoTime();
            m.optimize();
            Files.write(obj, m.emit(LLVM.LLVMObjectFile));
            t2 = System.nanoTime();
        }
        Linker.linkShared(obj, so, t);
        t3 = System.nanoTime();
        System.out.printf("60 MB constant: executor %d ms, optimize+emit %d ms, link %d ms%n",
                (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
        try (NativeModel model = NativeModel.load(so); Arena arena = Arena.ofConfined();
             NativeModel.Session s = model.createSession(1)) {
            MemorySegment out = arena.allocate(PICKS, 64);
            s.run(new MemorySegment[0], new MemorySegment[] {out});
            for (int i = 0; i < PICKS; i++) assertEquals(w[(int) (i * STRIDE)], out.get(ValueLayout.JAVA_BYTE, i), "pick " + i);
        }
    }
}
