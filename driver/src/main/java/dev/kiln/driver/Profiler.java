package dev.kiln.driver;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.kiln.frontend.AtomicFiles;
import dev.kiln.irhigh.KilnException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a compiled library's time goes: every kernel call timed through
 * {@code kiln_model_run_profiled} over many runs, alternating with plain runs of
 * {@code kiln_model_run} (the end-to-end time the per-kernel medians should add up to), with what
 * the library says of each call ({@code kiln_model_profile_info}): its graph node, fused ops,
 * template, layout, FLOPs and bytes.
 */
public final class Profiler {
    private Profiler() {}

    /** One kernel call as {@code kiln_model_profile_info} describes it. */
    public record Call(int index, String kernel, String node, List<String> ops, String template, String layout, double flops, long bytes) {
        /** The fused ops, {@code +}-joined. */
        String opsText() {
            return ops.isEmpty() ? "-" : String.join("+", ops);
        }
    }

    /**
     * The measurement: {@code ns[run][2 * call]} and {@code [2 * call + 1]} each call's start and
     * end in one profiled run; {@code plainMs} the end-to-end times of the plain runs.
     */
    public record Result(List<Call> calls, long[][] ns, double[] plainMs, int threads, boolean onDevice) {
        public int runs() {
            return ns.length;
        }

        /** Median milliseconds of call {@code c} over the runs. */
        public double medianMs(int c) {
            double[] v = new double[ns.length];
            for (int r = 0; r < ns.length; r++) v[r] = (ns[r][2 * c + 1] - ns[r][2 * c]) / 1e6;
            return Bench.median(v);
        }

        public double sumOfMediansMs() {
            double s = 0;
            for (int c = 0; c < calls.size(); c++) s += medianMs(c);
            return s;
        }

        public double plainMedianMs() {
            return Bench.median(plainMs);
        }

        /** The profiled run whose first-start to last-end span is the median one (the trace shows it first). */
        int medianRun() {
            Integer[] order = new Integer[ns.length];
            for (int r = 0; r < ns.length; r++) order[r] = r;
            java.util.Arrays.sort(order, Comparator.comparingLong(r -> span(ns[r])));
            return order[ns.length / 2];
        }

        private static long span(long[] t) {
            return t.length == 0 ? 0 : t[t.length - 1] - t[0];
        }
    }

    /** The calls a library describes; fails with what to do for a library built before profiling. */
    public static List<Call> calls(KilnLibrary lib, Path path) {
        String json = lib.profileInfo().orElseThrow(() -> new KilnException(path + " was built by a Kiln without profiling "
                + "(it lacks kiln_model_run_profiled): compile it again with this kiln to profile it"));
        List<Call> calls = new ArrayList<>();
        try {
            JsonArray a = JsonParser.parseString(json).getAsJsonArray();
            for (int i = 0; i < a.size(); i++) {
                JsonObject o = a.get(i).getAsJsonObject();
                List<String> ops = new ArrayList<>();
                for (JsonElement e : o.getAsJsonArray("ops")) ops.add(e.getAsString());
                calls.add(new Call(i, o.get("kernel").getAsString(), o.get("node").getAsString(), ops, o.get("template").getAsString(),
                        o.get("layout").getAsString(), o.get("flops").getAsDouble(), o.get("bytes").getAsLong()));
            }
        } catch (JsonParseException | IllegalStateException | NullPointerException | UnsupportedOperationException e) {
            throw new KilnException(path + ": kiln_model_profile_info() is not the JSON Kiln writes (" + e.getMessage() + ")");
        }
        return calls;
    }

    /**
     * Times {@code runs} profiled and {@code runs} plain runs of {@code lib} (its inputs already
     * prepared), alternating, after {@code warmup} plain runs.
     */
    public static Result measure(KilnLibrary lib, Path path, int threads, int warmup, int runs) {
        List<Call> calls = calls(lib, path);
        Bench.warmUp(List.of(lib::runPrepared, () -> lib.runPreparedProfiled(calls.size())), warmup);
        long[][] ns = new long[runs][];
        double[] plain = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            lib.runPrepared();
            plain[r] = (System.nanoTime() - t0) / 1e6;
            ns[r] = lib.runPreparedProfiled(calls.size());
        }
        return new Result(calls, ns, plain, threads, lib.onDevice());
    }

    /**
     * What {@code --profile} and {@code --profile-json} do in {@code kiln run} and {@code kiln
     * bench}: measure {@code lib} (inputs prepared), print the table, write the trace if asked.
     */
    static Result report(KilnLibrary lib, Path path, int threads, int warmup, int runs, Path traceFile) {
        Result r = measure(lib, path, threads, warmup, runs);
        double gflops = Double.NaN, gbps = Double.NaN;
        if (!r.onDevice()) {
            dev.kiln.targets.CpuTarget host = dev.kiln.targets.CpuTarget.host();
            gflops = Peaks.fmaGflops(host) * threads;
            gbps = Peaks.copyGBps(host);
        }
        print(r, gflops, gbps, System.out);
        if (traceFile != null) {
            writeTrace(r, traceFile);
            System.out.println("  wrote " + traceFile + " (Chrome trace: open it in https://ui.perfetto.dev or chrome://tracing)");
        }
        return r;
    }

    /**
     * Prints every kernel, slowest first: median time, share of the sum, what it computes, and
     * its throughput against {@code gflopsPeak} (all threads) and {@code gbps} (NaN: not shown);
     * then the time per kind of kernel (first op and template), and the sum against the
     * end-to-end median.
     */
    public static void print(Result r, double gflopsPeak, double gbps, PrintStream out) {
        double sum = r.sumOfMediansMs();
        List<Call> order = new ArrayList<>(r.calls());
        order.sort(Comparator.comparingDouble((Call c) -> -r.medianMs(c.index())));
        boolean peaks = !Double.isNaN(gflopsPeak);
        out.printf(Locale.ROOT, "per-kernel profile: median of %d profiled runs, %d thread(s)%s%n", r.runs(), r.threads(),
                r.onDevice() ? " (GPU: each kernel waited for before the next starts)" : "");
        int width = Math.max(6, r.calls().stream().mapToInt(c -> c.kernel().length()).max().orElse(6));
        String row = "  %4s %9s %6s %6s  %-" + width + "s %-40s %-22s %-16s %8s %6s %8s%n";
        out.printf(Locale.ROOT, row, "#", "ms", "%", "cum%", "kernel", "ops",
                "template", "layout", "GFLOP/s", peaks ? "%peak" : "", "GB/s");
        double cum = 0;
        for (Call c : order) {
            double ms = r.medianMs(c.index());
            cum += ms;
            double gflops = ms > 0 ? c.flops() / (ms * 1e6) : 0;
            double gb = ms > 0 ? c.bytes() / (ms * 1e6) : 0;
            out.printf(Locale.ROOT, row, c.index(), f("%.4f", ms), f("%.2f", 100 * ms / sum), f("%.1f", 100 * cum / sum), c.kernel(),
                    clip(c.opsText(), 40), clip(c.template(), 22), clip(c.layout(), 16), f("%.2f", gflops),
                    peaks ? f("%.1f", 100 * gflops / gflopsPeak) : "", f("%.2f", gb));
        }
        out.println("  by kind (first op, template):");
        Map<String, double[]> kinds = new LinkedHashMap<>();
        for (Call c : r.calls()) {
            double[] k = kinds.computeIfAbsent((c.ops().isEmpty() ? "-" : c.ops().getFirst()) + " " + c.template(), x -> new double[3]);
            k[0] += r.medianMs(c.index());
            k[1]++;
            k[2] += c.flops();
        }
        kinds.entrySet().stream().sorted(Comparator.comparingDouble(e -> -e.getValue()[0])).forEach(e -> out.printf(Locale.ROOT,
                "    %-44s %9.4f ms %6.2f %%  %4d kernel(s)  %8.2f GFLOP/s%n", e.getKey(), e.getValue()[0], 100 * e.getValue()[0] / sum,
                (int) e.getValue()[1], e.getValue()[0] > 0 ? e.getValue()[2] / (e.getValue()[0] * 1e6) : 0));
        double plain = r.plainMedianMs();
        out.printf(Locale.ROOT, "  sum of kernel medians %.4f ms; end-to-end median of plain runs %.4f ms (kernels %.1f %% of it)%n",
                sum, plain, 100 * sum / plain);
        if (peaks) {
            out.printf(Locale.ROOT, "  peaks: %.0f GFLOP/s (FMA probe x %d thread(s))%s, on %s%n", gflopsPeak, r.threads(),
                    Double.isNaN(gbps) ? "" : String.format(Locale.ROOT, ", %.1f GB/s (one thread's copy bandwidth)", gbps),
                    dev.kiln.codegen.PeakProbe.cpuModel());
        }
    }

    private static String f(String format, double v) {
        return String.format(Locale.ROOT, format, v);
    }

    private static String clip(String s, int width) {
        return s.length() <= width ? s : s.substring(0, width - 1) + "~";
    }

    /**
     * Writes the profiled runs as a Chrome trace (the JSON array of complete events ONNX
     * Runtime's profiler writes; Perfetto and chrome://tracing open it): one {@code model_run}
     * event per run with its kernels inside, in microseconds from the first run's start, the
     * median run first.
     */
    public static void writeTrace(Result r, Path file) {
        JsonArray events = new JsonArray();
        if (r.runs() == 0 || r.calls().isEmpty()) {
            AtomicFiles.write(file, "[]\n".getBytes(StandardCharsets.UTF_8));
            return;
        }
        int median = r.medianRun();
        List<Integer> order = new ArrayList<>();
        order.add(median);
        for (int run = 0; run < r.runs(); run++) if (run != median) order.add(run);
        // Runs are laid end to end, the median one first, 100 us apart (the pauses between them are not kiln's).
        double cursorUs = 0;
        for (int run : order) {
            long[] t = r.ns()[run];
            double spanUs = (t[t.length - 1] - t[0]) / 1e3;
            JsonObject session = event("model_run", "Session", cursorUs, spanUs);
            JsonObject sargs = new JsonObject();
            sargs.addProperty("run", run);
            sargs.addProperty("median_run", run == median);
            session.add("args", sargs);
            events.add(session);
            for (Call c : r.calls()) {
                long s = t[2 * c.index()], e = t[2 * c.index() + 1];
                JsonObject k = event(c.kernel() + "_kernel_time", "Node", cursorUs + (s - t[0]) / 1e3, (e - s) / 1e3);
                JsonObject args = new JsonObject();
                args.addProperty("op_name", c.opsText());
                args.addProperty("node", c.node());
                args.addProperty("template", c.template());
                args.addProperty("layout", c.layout());
                args.addProperty("flops", c.flops());
                args.addProperty("bytes", c.bytes());
                args.addProperty("provider", r.onDevice() ? "kiln-gpu" : "kiln-cpu");
                k.add("args", args);
                events.add(k);
            }
            cursorUs += spanUs + 100;
        }
        String json = new GsonBuilder().setPrettyPrinting().create().toJson(events);
        AtomicFiles.write(file, (json + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static JsonObject event(String name, String cat, double tsUs, double durUs) {
        JsonObject o = new JsonObject();
        o.addProperty("cat", cat);
        o.addProperty("pid", 1);
        o.addProperty("tid", 1);
        o.addProperty("dur", Math.round(durUs * 1000) / 1000.0);
        o.addProperty("ts", Math.round(tsUs * 1000) / 1000.0);
        o.addProperty("ph", "X");
        o.addProperty("name", name);
        return o;
    }
}
