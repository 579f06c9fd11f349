package dev.kiln.autotune.tune;

import dev.kiln.autotune.runner.HostInfo;

/** The Kiln version recorded with each measurement: the jar manifest's, else the runner protocol's constant. */
final class KilnVersion {
    private KilnVersion() {}

    static String get() {
        String v = KilnVersion.class.getPackage().getImplementationVersion();
        return v != null && !v.isBlank() ? v : HostInfo.KILN_VERSION;
    }
}
