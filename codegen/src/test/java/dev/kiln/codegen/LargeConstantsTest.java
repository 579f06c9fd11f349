package dev.kiln.codegen;

import static org.junit.jupiter.api.Assertions.*;

import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.codegen.ModuleSpec.KernelCall;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
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
            define void @gather(ptr noalias %w, ptr noalias %out) {
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

    static ModuleSpec spec(byte[] w) {
        Buffer wb = new Buffer("w", ScalarType.U8, (PICKS - 1) * STRIDE + 1), ob = new Buffer("o", ScalarType.U8, PICKS);
        Expr.Var i = Exprs.var("i");
        Stmt body = new Stmt.For(i, Exprs.idx(0), Exprs.idx(PICKS), ForKind.SERIAL,
                new Stmt.Store(ob, i, new Expr.Load(wb, Exprs.mul(i, Exprs.idx(STRIDE)))));
        return new ModuleSpec("big", List.of(), List.of(new TensorSpec("o", ScalarType.U8, List.of((long) PICKS))),
                List.of(new ModuleSpec.Constant("w", w)), 0, List.of(new PrimFunc("gather", List.of(wb, ob), body)),
                List.of(new KernelCall("gather", List.of(new Arg.Const(0), new Arg.Output(0)))), null);
    }

    static byte[] weights() {
        byte[] w = new byte[BYTES];
        new SplittableRandom(1).nextBytes(w);
        return w;
    }

    static void check(Path so, byte[] w) {
        try (NativeModel model = NativeModel.load(so); Arena arena = Arena.ofConfined();
             NativeModel.Session s = model.createSession(1)) {
            MemorySegment out = arena.allocate(PICKS, 64);
            s.run(new MemorySegment[0], new MemorySegment[] {out});
            for (int i = 0; i < PICKS; i++) assertEquals(w[(int) (i * STRIDE)], out.get(ValueLayout.JAVA_BYTE, i), "pick " + i);
        }
    }

    /** Through the whole NativeCompiler; prints the time of each step (reported, not asserted). */
    @Test
    void throughTheNativeCompiler(@TempDir Path dir) {
        byte[] w = weights();
        Path so = dir.resolve("libbig.so");
        var r = NativeCompiler.compile(spec(w), Target.avx2(), so, NativeCompiler.Options.defaults());
        System.out.println("60 MB constant through NativeCompiler, ms per step: " + r.stepMillis());
        check(so, w);
    }

    @Test
    void sixtyMegabytesOfWeightsEmbedExactly(@TempDir Path dir) throws Exception {
        byte[] w = weights();
        ModuleSpec spec = spec(w);
        Target t = Target.avx2();
        Path obj = dir.resolve("big.o"), so = dir.resolve("libbig.so");
        try (RawLlvm m = new RawLlvm(KERNEL, t)) {
            ExecutorCodegen.emit(m.ctx, m.module, spec);
            m.optimize();
            Files.write(obj, m.emit(LLVM.LLVMObjectFile));
        }
        Linker.linkShared(obj, so, t);
        check(so, w);
    }
}
