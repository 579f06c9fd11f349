package dev.kiln.autotune.runner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.kiln.autotune.runner.proto.Expected;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.TensorData;
import dev.kiln.codegen.ModuleSpec;
import dev.kiln.codegen.ModuleSpec.Arg;
import dev.kiln.codegen.ModuleSpec.KernelCall;
import dev.kiln.codegen.ModuleSpec.TensorSpec;
import dev.kiln.codegen.NativeCompiler;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.targets.Target;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A library built by Kiln's own back end, with a parallel kernel (on its thread pool), measures in the child runner. */
class CompiledCandidateTest {
    static final int N = 1 << 16;

    @Test
    void parallelKernelMeasuresAndMatchesTheReference(@TempDir Path dir) throws Exception {
        Target target = Target.avx2();
        assumeTrue(target.canRunOnHost(), "this CPU cannot run AVX2 code");
        Path so = dir.resolve("libaxpb.so");
        NativeCompiler.compile(axpb(), target, so, NativeCompiler.Options.defaults());

        byte[] x = TensorBytes.random("float32", N, 5);
        ByteBuffer xb = ByteBuffer.wrap(x).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer want = ByteBuffer.allocate(4 * N).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < N; i++) want.putFloat(xb.getFloat(i * 4) * 2f + 1f);

        MeasureRequest request = MeasureRequest.newBuilder().setCandidateId("axpb").setThreads(2)
                .setLibrary(ByteString.copyFrom(Files.readAllBytes(so)))
                .addInputs(TensorData.newBuilder().setSeed(5))
                .setExpected(Expected.newBuilder().addOutputs(ByteString.copyFrom(want.array())).setRtol(1e-6).setAtol(1e-6))
                .setWarmup(3).setNumber(5).setRepeat(3).setTimeoutMs(10_000).build();
        try (LocalRunner runner = new LocalRunner()) {
            MeasureResult r = runner.measure(request);
            assertEquals(MeasureResult.Status.OK, r.getStatus(), r.getError());
            assertEquals(3, r.getCostsCount());
            for (double c : r.getCostsList()) assertTrue(c > 0 && c < 0.1, "cost " + c);
        }
    }

    /** y = x * 2 + 1 over float32[N], one parallel loop. */
    private static ModuleSpec axpb() {
        Buffer x = new Buffer("x", ScalarType.F32, N);
        Buffer y = new Buffer("y", ScalarType.F32, N);
        Expr.Var i = Exprs.var("i");
        PrimFunc f = new PrimFunc("axpb", List.of(x, y), new Stmt.For(i, Exprs.idx(0), Exprs.idx(N), ForKind.PARALLEL,
                new Stmt.Store(y, i, Exprs.add(Exprs.mul(new Expr.Load(x, i), Exprs.f32(2)), Exprs.f32(1)))));
        return new ModuleSpec("axpb", List.of(new TensorSpec("x", ScalarType.F32, List.of((long) N))),
                List.of(new TensorSpec("y", ScalarType.F32, List.of((long) N))), List.of(), 0, List.of(f),
                List.of(new KernelCall("axpb", List.of(new Arg.Input(0), new Arg.Output(0)))), null);
    }
}
