package dev.kiln.autotune.fleet;

import dev.kiln.autotune.db.Postgres;
import dev.kiln.irhigh.KilnException;
import java.util.List;

/** The fleet as {@code kiln boards} and {@code kiln tune --broker} see it: the boards registered under a key. */
public final class Fleet {
    /** Job kinds: a library measured in a runner process, a program run by a device runtime. */
    static final String LIBRARY = "library", PROGRAM = "program";

    private Fleet() {}

    static void requirePostgres(String url, String what) {
        if (!Postgres.isPostgres(url))
            throw new KilnException(what + " needs the team's PostgreSQL as the broker (jdbc:postgresql://HOST[:PORT]/DB), got '"
                    + Postgres.redact(url) + "': boards and tuners on several machines cannot share an SQLite file");
    }

    /** One board as {@code kiln boards} prints it. */
    public record BoardStatus(String key, String board, String target, String device, boolean emulated, double heartbeatAgeS,
                              Long busyJob, long jobsDone, long errors, boolean gone) {
        /** {@code busy (job N)}, {@code free} or {@code gone} (no heartbeat for longer than the lease). */
        public String state() {
            return gone ? "gone" : busyJob != null ? "busy (job " + busyJob + ")" : "free";
        }
    }

    /** Every board registered with the broker at {@code url}, by key and name. */
    public static List<BoardStatus> boards(String url, FleetSettings settings) {
        requirePostgres(url, "kiln boards");
        try (BrokerConnection conn = new BrokerConnection(url, settings.patienceMs(), List.of())) {
            return conn.inTransaction("list the boards", c -> {
                Broker.createSchema(c);
                return Broker.boards(c, null, settings.leaseS()).stream().map(Fleet::status).toList();
            });
        }
    }

    static BoardStatus status(Broker.BoardRow r) {
        DeviceFacts f = DeviceFacts.fromJson(r.device());
        return new BoardStatus(r.key(), r.board(), r.target(), f.info().getDeviceKey(), f.emulated(), r.ageS(), r.busyJob(),
                r.jobsDone(), r.errors(), r.gone());
    }
}
