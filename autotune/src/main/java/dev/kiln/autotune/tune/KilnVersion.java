package dev.kiln.autotune.tune;

import dev.kiln.autotune.runner.HostInfo;

/** The Kiln version recorded with each measurement: the jar manifest's, else the runner protocol's constant. */
public final class KilnVersion {
    private KilnVersion() {}

    public static String get() {
        String v = KilnVersion.class.getPackage().getImplementationVersion();
        return v != null && !v.isBlank() ? v : HostInfo.KILN_VERSION;
    }
}
