package dev.kiln.driver;

import dev.kiln.codegen.CBuild;
import dev.kiln.codegen.PeakProbe;
import dev.kiln.frontend.AtomicFiles;
import dev.kiln.irhigh.KilnException;
import dev.kiln.targets.CpuTarget;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.DoubleSupplier;

/**
 * This machine's peaks, measured once per CPU (target, features, model name) and kept in Kiln's
 * cache directory: an entry that does not parse is measured again, and an unwritable cache only
 * costs a measurement.
 */
final class Peaks {
    private Peaks() {}

    /** The FMA peak of one thread in GFLOP/s ({@link PeakProbe#measureGflops}). */
    static double fmaGflops(CpuTarget host) {
        return cached("peak", host, () -> PeakProbe.measureGflops(host));
    }

    /** The memory bandwidth of one thread in GB/s ({@link PeakProbe#measureCopyGBps}: a copy larger than the caches). */
    static double copyGBps(CpuTarget host) {
        return cached("bandwidth", host, PeakProbe::measureCopyGBps);
    }

    private static double cached(String what, CpuTarget host, DoubleSupplier measure) {
        String key = host.name() + "|" + host.cpu() + "|" + host.features() + "|" + PeakProbe.cpuModel();
        Path file = CBuild.cacheDir().resolve(what + "-" + Integer.toHexString(key.hashCode()) + ".txt");
        try {
            String[] parts = Files.readString(file).strip().split("\t", 2);
            if (parts.length == 2 && parts[1].equals(key)) return Double.parseDouble(parts[0]);
        } catch (IOException | NumberFormatException e) {
            // not measured yet, or unreadable: measured below
        }
        double v = measure.getAsDouble();
        try {
            AtomicFiles.write(file, (v + "\t" + key + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (KilnException e) {
            // an unwritable cache only costs a new measurement next time
        }
        return v;
    }
}
