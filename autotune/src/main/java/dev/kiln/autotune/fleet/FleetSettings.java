package dev.kiln.autotune.fleet;

/**
 * The fleet's clocks. {@code heartbeatMs}: how often a board says it is alive (and extends the
 * lease of its job) and a tuner extends its jobs' expiry; {@code leaseS}: how long a board may go
 * without a heartbeat before its job is taken back and it counts as gone; {@code jobTtlS}: how
 * long a tuner's jobs stay open without a heartbeat from it; {@code patienceMs}: how long a tuner
 * waits for the broker to come back (a board waits for ever).
 */
public record FleetSettings(long heartbeatMs, long leaseS, long jobTtlS, long patienceMs) {
    public static final FleetSettings DEFAULT = new FleetSettings(2_000, 12, 30, 120_000);

    /** The settings the {@code KILN_FLEET_LEASE_S} environment variable asks for (tests shorten the lease), else the defaults. */
    public static FleetSettings fromEnvironment() {
        String lease = System.getenv("KILN_FLEET_LEASE_S");
        if (lease == null || lease.isBlank()) return DEFAULT;
        long s = Long.parseLong(lease.strip());
        return new FleetSettings(Math.min(DEFAULT.heartbeatMs(), s * 1000 / 4), s, Math.max(DEFAULT.jobTtlS(), 3 * s), DEFAULT.patienceMs());
    }
}
