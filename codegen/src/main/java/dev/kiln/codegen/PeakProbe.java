package dev.kiln.codegen;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.targets.CpuTarget;
import dev.kiln.targets.TargetException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.llvm.LLVM.LLVMMemoryBufferRef;
import org.bytedeco.llvm.LLVM.LLVMModuleRef;

/**
 * The FMA peak of one core of this machine, measured: a loop of {@value #CHAINS} independent
 * chains of vector fused multiply-adds as wide as the target's registers, compiled by Kiln's LLVM
 * for the host CPU and timed for a few tens of milliseconds, best of {@value #ROUNDS}. Twelve
 * chains hide the FMA latency on every x86 and ARM core seen (4 cycles, 2 or 3 pipes).
 * A Zen 5 core with full-width 512-bit FMA gives about 230 GFLOP/s, a Zen 4 core about 106.
 * {@code kiln bench --op} keeps the result per CPU in Kiln's cache directory.
 */
public final class PeakProbe {
    private PeakProbe() {}

    static final int CHAINS = 12;
    static final int ROUNDS = 5;

    /** The CPU's model name from /proc/cpuinfo, or "" where there is none. */
    public static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
                if (line.startsWith("model name") || line.startsWith("CPU part")) return line.substring(line.indexOf(':') + 1).strip();
        } catch (IOException e) {
            // not Linux, or not readable
        }
        return "";
    }

    /** FLOP per second of one thread on {@code host}, in GFLOP/s (multiply and add counted separately). */
    public static double measureGflops(CpuTarget host) {
        int lanes = host.vectorBits() / 32;
        Path dir;
        try {
            dir = Files.createTempDirectory("kiln-peak");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Path so = dir.resolve("peak.so");
            try (LlvmModule m = new LlvmModule("kiln_peak", host)) {
                LLVMModuleRef probe = parse(m, ir(lanes));
                if (LLVMLinkModules2(m.module(), probe) != 0) throw new TargetException("cannot link the peak probe module");
                m.verify();
                Path obj = dir.resolve("peak.o");
                Files.write(obj, m.emitObject());
                dev.kiln.codegen.Linker.linkShared(obj, so, host);
            }
            try (Arena arena = Arena.ofConfined()) {
                SymbolLookup lib = SymbolLookup.libraryLookup(so, arena);
                MethodHandle run = Linker.nativeLinker().downcallHandle(lib.findOrThrow("kiln_peak"),
                        FunctionDescriptor.of(ValueLayout.JAVA_FLOAT, ValueLayout.JAVA_LONG));
                long iterations = 1 << 16;
                // Grow until one call takes 20 ms, then time the best of a few.
                while (true) {
                    long t = time(run, iterations);
                    if (t > 20_000_000L || iterations > (1L << 34)) break;
                    iterations *= 2;
                }
                long best = Long.MAX_VALUE;
                for (int r = 0; r < ROUNDS; r++) best = Math.min(best, time(run, iterations));
                return 2.0 * CHAINS * lanes * iterations / best;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            CBuild.deleteTree(dir);
        }
    }

    /** Bytes of each buffer of {@link #measureCopyGBps}: well past the last-level cache of any CPU seen. */
    static final long COPY_BYTES = 256L << 20;

    /**
     * Memory bandwidth of one thread in GB/s: bytes read plus bytes written by a copy of
     * {@value #COPY_BYTES} bytes between two buffers (libc's memcpy through the JDK), best of
     * {@value #ROUNDS} after one untimed copy that faults the pages in.
     */
    public static double measureCopyGBps() {
        try (Arena arena = Arena.ofConfined()) {
            var src = arena.allocate(COPY_BYTES, 64);
            var dst = arena.allocate(COPY_BYTES, 64);
            src.fill((byte) 1);
            dst.copyFrom(src);
            long best = Long.MAX_VALUE;
            for (int r = 0; r < ROUNDS; r++) {
                long t0 = System.nanoTime();
                dst.copyFrom(src);
                best = Math.min(best, System.nanoTime() - t0);
            }
            return 2.0 * COPY_BYTES / best;
        }
    }

    private static long time(MethodHandle run, long iterations) {
        long t0 = System.nanoTime();
        float r;
        try {
            r = (float) run.invokeExact(iterations);
        } catch (Throwable t) {
            throw new IllegalStateException("calling the peak probe failed", t);
        }
        long dt = System.nanoTime() - t0;
        if (Float.isNaN(r)) throw new IllegalStateException("the peak probe computed NaN"); // keeps the result live
        return dt;
    }

    /** {@code float kiln_peak(i64 n)}: n steps of CHAINS independent vector FMAs; returns one lane of their sum. */
    static String ir(int lanes) {
        String v = "<" + lanes + " x float>";
        StringBuilder s = new StringBuilder();
        s.append("declare ").append(v).append(" @llvm.fma.v").append(lanes).append("f32(").append(v).append(", ").append(v).append(", ")
                .append(v).append(")\n");
        s.append("define float @kiln_peak(i64 %n) {\nentry:\n  br label %loop\nloop:\n  %i = phi i64 [0, %entry], [%i1, %loop]\n");
        for (int c = 0; c < CHAINS; c++)
            s.append("  %a").append(c).append(" = phi ").append(v).append(" [").append(splat(lanes, 1.0f + c * 1e-3f)).append(", %entry], [%b")
                    .append(c).append(", %loop]\n");
        for (int c = 0; c < CHAINS; c++)
            s.append("  %b").append(c).append(" = call ").append(v).append(" @llvm.fma.v").append(lanes).append("f32(").append(v).append(" %a")
                    .append(c).append(", ").append(v).append(" ").append(splat(lanes, 0.999999f)).append(", ").append(v).append(" ")
                    .append(splat(lanes, 1e-7f)).append(")\n");
        s.append("  %i1 = add i64 %i, 1\n  %more = icmp ult i64 %i1, %n\n  br i1 %more, label %loop, label %done\ndone:\n");
        String acc = "%b0";
        for (int c = 1; c < CHAINS; c++) {
            s.append("  %s").append(c).append(" = fadd ").append(v).append(" ").append(acc).append(", %b").append(c).append("\n");
            acc = "%s" + c;
        }
        s.append("  %r = extractelement ").append(v).append(" ").append(acc).append(", i32 0\n  ret float %r\n}\n");
        return s.toString();
    }

    private static String splat(int lanes, float x) {
        String hex = "0x" + Long.toHexString(Double.doubleToRawLongBits((double) x)).toUpperCase();
        StringBuilder s = new StringBuilder("<");
        for (int l = 0; l < lanes; l++) s.append(l == 0 ? "" : ", ").append("float ").append(hex);
        return s.append(">").toString();
    }

    private static LLVMModuleRef parse(LlvmModule m, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(new BytePointer(bytes), bytes.length, new BytePointer("peak.ll"));
        LLVMModuleRef out = new LLVMModuleRef();
        BytePointer error = new BytePointer((Pointer) null);
        if (LLVMParseIRInContext(m.context(), buf, out, error) != 0)
            throw new TargetException("the peak probe's IR does not parse: " + error.getString());
        LLVMSetTarget(out, LLVMGetTarget(m.module()));
        LLVMSetDataLayout(out, LLVMGetDataLayoutStr(m.module()));
        return out;
    }
}
