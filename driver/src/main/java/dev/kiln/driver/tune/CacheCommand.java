package dev.kiln.driver.tune;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningDbException;
import dev.kiln.autotune.db.TuningRecord;
import dev.kiln.autotune.pack.Pack;
import dev.kiln.autotune.pack.PackEntry;
import dev.kiln.autotune.pack.Packs;
import dev.kiln.autotune.runner.LocalRunner;
import dev.kiln.autotune.runner.Runner;
import dev.kiln.autotune.tune.KilnVersion;
import dev.kiln.autotune.tune.TaskExtractor;
import dev.kiln.autotune.tune.TuneLoop;
import dev.kiln.codegen.llvm.LlvmModule;
import dev.kiln.driver.GraphPipeline;
import dev.kiln.driver.Options;
import dev.kiln.frontend.InputValues;
import dev.kiln.irhigh.KilnException;
import dev.kiln.schedules.ops.OpInventory;
import dev.kiln.schedules.ops.Work;
import dev.kiln.schedules.ops.WorkloadGraph;
import dev.kiln.schedules.space.Config;
import dev.kiln.schedules.space.ConfigSpace;
import dev.kiln.targets.Target;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code kiln cache}: tuned configs shared as packs. {@code export} writes a database's chosen
 * config per workload with its provenance; {@code import} checks a pack completely, then adds it
 * all or nothing; {@code verify} times a sample of the chosen configs here beside their records;
 * {@code serve} serves a folder of packs read-only for {@code --cache-url}.
 */
@Command(name = "cache", mixinStandardHelpOptions = true, description = "Share tuned configs as packs: export, import, verify, serve.",
        subcommands = {CacheCommand.Export.class, CacheCommand.Import.class, CacheCommand.Verify.class, CacheServeCommand.class})
public final class CacheCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new KilnException("say what to do: kiln cache export -o FILE.kpack | kiln cache import FILE.kpack | kiln cache verify | "
                + "kiln cache serve DIR (each but serve takes --db URL)");
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "Write the config each workload is compiled with (the best that beats the default, else the default), with its provenance, as a pack.")
    static final class Export extends DbCommand.WithDb implements Callable<Integer> {
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE.kpack", description = "the pack to write")
        Path file;

        @Option(names = "--target", paramLabel = "T", description = "only this target's workloads (repeatable; default: every target with records)")
        List<String> targets;

        @Option(names = "--model", paramLabel = "MODEL", description = "only the workloads of this model (model.onnx or zoo:NAME); "
                + "also describes workloads whose records predate Kiln keeping their form")
        String model;

        @Option(names = "--input-shape", paramLabel = "NAME=D1,D2,..", description = "with --model: bind an input's dynamic dimensions (repeatable)")
        List<String> inputShapes;

        @Option(names = "--input-value", paramLabel = "NAME=V1,V2,..", description = "with --model: bind an input that decides shapes (repeatable)")
        List<String> inputValues;

        @Override
        public Integer call() {
            List<String> names = new ArrayList<>();
            if (targets != null) for (String t : targets) names.add(Target.parse(t).name());
            Map<String, Map<String, String>> only = null;
            if (model != null) {
                if (names.isEmpty()) names.add(Target.host().name());
                only = new LinkedHashMap<>();
                for (String name : names) {
                    Target t = Target.parse(name);
                    Map<String, String> keys = new LinkedHashMap<>();
                    for (TaskExtractor.Task task : TaskExtractor.fromModel(model, Options.inputShapes(inputShapes),
                            InputValues.parse(inputValues), t, GraphPipeline.passes(t)).tasks())
                        keys.put(task.key(), task.workload().canonical());
                    only.put(t.name(), keys);
                }
            }
            try (TuningDatabase d = open(true)) {
                Packs.ExportReport r = Packs.export(d, file, names, only, KilnVersion.get(), LlvmModule.llvmVersion());
                out().println("exported " + r.header().workloads() + " workloads (" + r.header().records() + " records) of " + d
                        + (r.header().targets().isEmpty() ? "" : " for " + String.join(", ", r.header().targets())) + " to " + file
                        + " (sha256 " + r.header().sha256().substring(0, 16) + "...)");
                for (String s : r.skipped()) out().println("  left out " + s);
                if (r.header().workloads() == 0)
                    out().println("the pack is empty: " + d + " has no tuned workload" + (names.isEmpty() ? "" : " for " + String.join(", ", names))
                            + (model == null ? "" : " of " + model));
                return 0;
            } catch (TuningDbException e) {
                throw new KilnException(e.getMessage(), e);
            }
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = "Check a pack completely (checksum, sizes, every config inside today's space of its workload), then add it all or nothing.")
    static final class Import extends DbCommand.WithDb implements Callable<Integer> {
        @Parameters(paramLabel = "FILE.kpack")
        Path file;

        @Override
        public Integer call() {
            try (TuningDatabase d = open(false)) {
                Packs.ImportReport r = Packs.importInto(d, file);
                out().println(r.describe(d.toString()));
                for (String c : r.conflicts()) out().println("  " + c);
                return 0;
            } catch (TuningDbException e) {
                throw new KilnException(e.getMessage(), e);
            }
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Time a sample of the configs compiles use here, beside their default configs, and compare with their records.")
    static final class Verify extends DbCommand.WithDb implements Callable<Integer> {
        @Option(names = "--sample", defaultValue = "8", paramLabel = "N", description = "how many workloads to time (default: ${DEFAULT-VALUE}; 0: all)")
        int sample;

        @Option(names = "--target", defaultValue = "host", paramLabel = "T", description = "whose records to verify: a target this machine runs (default: ${DEFAULT-VALUE})")
        String target;

        @Option(names = "--seed", defaultValue = "0", description = "which sample (default: ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--threads", defaultValue = "1", description = "threads each timed kernel uses (default: ${DEFAULT-VALUE})")
        int threads;

        @Override
        public Integer call() {
            Target t = Target.parse(target);
            if (!t.canRunOnHost()) throw new KilnException("kiln cache verify times kernels on this machine: --target " + t.name() + " does not run here");
            if (sample < 0) throw new KilnException("--sample must be at least 0, got " + sample);
            PrintWriter out = out();
            try (TuningDatabase d = open(true)) {
                List<PackEntry> entries = new ArrayList<>();
                for (String key : d.bestPerWorkload(t.name()).keySet()) {
                    var canonical = d.workload(t.name(), key);
                    if (canonical.isPresent()) entries.add(new PackEntry(t.name(), key, canonical.get(), d.records(t.name(), key)));
                }
                if (entries.isEmpty()) {
                    out.println(d + " has no tuned workload for " + t.name() + " whose form it keeps: nothing to verify");
                    return 0;
                }
                Collections.shuffle(entries, new Random(seed));
                if (sample > 0 && entries.size() > sample) entries = entries.subList(0, sample);
                TuneLoop.Settings settings = new TuneLoop.Settings(0, "random", Duration.ZERO, seed, 20, threads, TuneLoop.Cache.WARM);
                out.printf(Locale.ROOT, "%-40s %12s %12s %9s %12s %12s %9s%n", "workload", "recorded ms", "measured ms", "ratio",
                        "default rec", "default now", "ratio");
                List<Double> ratios = new ArrayList<>();
                try (Runner runner = new LocalRunner()) {
                    TuneLoop loop = new TuneLoop(t, d, runner, settings, Progress.to(spec.commandLine().getErr()));
                    for (PackEntry e : entries) {
                        WorkloadGraph.Rebuilt k = WorkloadGraph.rebuild(e.canonical());
                        ConfigSpace space = OpInventory.space(k.node(), k.graph(), k.target());
                        var chosen = Packs.chosenRecords(e.records(), space.defaults().toString());
                        if (chosen.isEmpty()) continue;
                        TaskExtractor.Task task = new TaskExtractor.Task(k.workload(), k.node(), k.graph(), space, 1, Work.flops(k.node(), k.graph()));
                        TuningRecord c = chosen.getFirst();
                        double defRecorded = chosen.size() > 1 ? chosen.get(1).meanCost() : c.meanCost();
                        TuneLoop.Verified v = loop.verify(task, Config.parse(c.config()), c.meanCost(), defRecorded);
                        if (v.error() != null) {
                            out.printf(Locale.ROOT, "%-40s %s%n", e.workloadKey(), "failed: " + v.error());
                            continue;
                        }
                        ratios.add(v.measured() / v.recorded());
                        out.printf(Locale.ROOT, "%-40s %12.4f %12.4f %9.2f %12.4f %12.4f %9.2f%n", e.workloadKey(), v.recorded() * 1e3,
                                v.measured() * 1e3, v.measured() / v.recorded(), v.defaultRecorded() * 1e3, v.defaultMeasured() * 1e3,
                                v.defaultMeasured() / v.defaultRecorded());
                    }
                }
                if (!ratios.isEmpty()) {
                    Collections.sort(ratios);
                    out.printf(Locale.ROOT, "measured/recorded over %d workloads: median %.2f, range %.2f-%.2f (the default's ratio beside each "
                            + "tells the machine's speed from the config's)%n", ratios.size(), ratios.get(ratios.size() / 2), ratios.getFirst(), ratios.getLast());
                }
                return 0;
            } catch (TuningDbException e) {
                throw new KilnException(e.getMessage(), e);
            }
        }
    }
}
