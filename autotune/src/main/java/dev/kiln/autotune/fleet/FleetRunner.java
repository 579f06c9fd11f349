package dev.kiln.autotune.fleet;

import dev.kiln.autotune.db.Postgres;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.runner.RunnerException;
import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.tune.Candidate;
import dev.kiln.autotune.tune.CandidateRunner;
import dev.kiln.autotune.tune.RecordTemplate;
import dev.kiln.irhigh.KilnException;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;

/**
 * The tuner's side of a fleet ({@code kiln tune --broker URL --key K}): each measurement becomes a
 * job of key K, taken by whichever board of that key is free, and is waited for ({@code LISTEN
 * kiln_done}, polling as a fallback). The board writes the job's record; the tuning loop's own
 * append of the same record is a duplicate. While the tuner lives it keeps its open jobs from
 * expiring; the jobs of a tuner that died expire and are never taken. A job is found again by its
 * key (run, sequence, candidate), so a submit repeated after a lost connection queues nothing twice.
 */
public final class FleetRunner implements CandidateRunner {
    /** How long the tuner waits with no live board of its key before giving up (boards may restart meanwhile). */
    private static final long NO_BOARD_MS = 300_000;

    private final String url;
    private final String key;
    private final String target;
    private final String kind;
    private final DeviceFacts facts;
    private final FleetSettings settings;
    private final BrokerConnection conn;
    private final BrokerConnection listenConn;
    private final String runId = UUID.randomUUID().toString();
    private final AtomicLong sequence = new AtomicLong();
    private final Object done = new Object();
    private volatile int live;
    private volatile long lastLive = System.currentTimeMillis();
    private volatile boolean closed;
    private final Thread heartbeat;
    private final Thread listener;

    private FleetRunner(String url, String key, List<Fleet.BoardStatus> boards, List<Broker.BoardRow> rows, FleetSettings settings,
                        BrokerConnection conn) {
        this.url = url;
        this.key = key;
        this.settings = settings;
        this.conn = conn;
        this.target = rows.getFirst().target();
        this.kind = rows.getFirst().kind();
        this.facts = DeviceFacts.fromJson(rows.getFirst().device());
        this.live = boards.size();
        this.listenConn = new BrokerConnection(url, Long.MAX_VALUE / 4, List.of(Broker.DONE));
        this.heartbeat = Thread.ofPlatform().daemon().name("kiln-fleet-heartbeat").start(this::beat);
        this.listener = Thread.ofPlatform().daemon().name("kiln-fleet-listener").start(this::listen);
    }

    /**
     * The fleet of boards registered under {@code key} at {@code url}; fails, saying what to run,
     * where no board of the key is alive or the live ones disagree on the target.
     */
    public static FleetRunner open(String url, String key, FleetSettings settings) {
        Fleet.requirePostgres(url, "kiln tune --broker");
        if (key == null || key.isBlank()) throw new KilnException("--broker needs --key: the kind of board to measure on (e.g. --key rk3588)");
        TuningDatabase.open(url).close(); // the records' tables, which the boards write into
        BrokerConnection conn = new BrokerConnection(url, settings.patienceMs(), List.of());
        try {
            List<Broker.BoardRow> all = conn.inTransaction("read the boards", c -> {
                Broker.createSchema(c);
                return Broker.boards(c, key, settings.leaseS());
            });
            List<Broker.BoardRow> rows = all.stream().filter(r -> !r.gone()).toList();
            if (rows.isEmpty())
                throw new KilnException("no board of key '" + key + "' is alive on " + Postgres.redact(url)
                        + (all.isEmpty() ? " (none ever registered)" : " (" + all.size() + " registered, none heartbeating)")
                        + ": start one with 'kiln runner --broker URL --key " + key + "', and see which are there with 'kiln boards --broker URL'");
            List<String> targets = rows.stream().map(r -> r.target() + " (" + r.kind() + "s)").distinct().toList();
            if (targets.size() > 1)
                throw new KilnException("the boards of key '" + key + "' disagree on their target: " + targets
                        + "; give each kind of board a key of its own ('kiln boards --broker URL' lists them)");
            return new FleetRunner(url, key, rows.stream().map(Fleet::status).toList(), rows, settings, conn);
        } catch (RuntimeException e) {
            conn.close();
            throw e;
        }
    }

    /** The target the boards of the key serve, as {@code Target.parse} takes it. */
    public String target() {
        return target;
    }

    /** Whether the boards run programs (a target this machine cannot load, e.g. under qemu) rather than libraries. */
    public boolean programs() {
        return kind.equals(Fleet.PROGRAM);
    }

    @Override
    public DeviceInfo info() {
        return facts.info();
    }

    @Override
    public String describe() {
        return live + " board" + (live == 1 ? "" : "s") + " of key " + key + " (" + facts.runs() + ")";
    }

    @Override
    public boolean emulated() {
        return facts.emulated();
    }

    @Override
    public boolean sharesCores() {
        return false; // unless a board runs here; its measurements then compete with builds as a remote runner's would not
    }

    @Override
    public int parallelism() {
        return Math.max(1, live);
    }

    @Override
    public MeasureResult measure(Candidate candidate, MeasureRequest request) {
        return measure(candidate, request, null).result();
    }

    @Override
    public Measurement measure(Candidate candidate, MeasureRequest request, RecordTemplate template) {
        String jobKey = runId + "/" + sequence.incrementAndGet() + "/" + request.getCandidateId();
        byte[] bytes = CandidateBytes.write(candidate);
        long id = conn.inTransaction("queue a measurement", c -> Broker.submit(c, key, runId, jobKey, kind, bytes,
                request.toByteArray(), template == null ? null : template.toJson(), settings.jobTtlS()));
        while (true) {
            Optional<Broker.Done> d = conn.inTransaction("read a measurement", c -> Broker.result(c, id));
            if (d.isPresent()) return d.get().measurement();
            if (closed) throw new RunnerException("the fleet runner was closed while waiting for job " + id);
            if (live == 0 && System.currentTimeMillis() - lastLive > NO_BOARD_MS)
                throw new RunnerException("no board of key '" + key + "' has heartbeated for " + NO_BOARD_MS / 1000
                        + " s; job " + id + " (" + request.getCandidateId() + ") is still queued. Start boards with "
                        + "'kiln runner --broker URL --key " + key + "'", null);
            synchronized (done) {
                try {
                    done.wait(1_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RunnerException("interrupted waiting for job " + id, e);
                }
            }
        }
    }

    /** Keeps this run's open jobs alive, takes back the jobs of boards that stopped, and counts the live boards. */
    private void beat() {
        while (!closed) {
            try {
                int n = conn.inTransaction("heartbeat", c -> {
                    Broker.extendRun(c, runId, settings.jobTtlS());
                    Broker.requeueExpired(c, settings.leaseS());
                    return (int) Broker.boards(c, key, settings.leaseS()).stream().filter(r -> !r.gone()).count();
                });
                live = n;
                if (n > 0) lastLive = System.currentTimeMillis();
            } catch (RuntimeException e) {
                if (closed) return;
                System.err.println("kiln tune: fleet heartbeat failed: " + e.getMessage());
            }
            try {
                Thread.sleep(settings.heartbeatMs());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void listen() {
        while (!closed) {
            try {
                var notes = listenConn.connection().unwrap(PGConnection.class).getNotifications(1_000);
                if (notes != null && notes.length > 0) synchronized (done) {
                    done.notifyAll();
                }
            } catch (SQLException e) {
                listenConn.closeQuietly();
                if (!closed) BrokerConnection.sleep(500);
            } catch (RuntimeException e) {
                if (closed) return;
                BrokerConnection.sleep(500);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        heartbeat.interrupt();
        listener.interrupt();
        try {
            conn.inTransaction("drop the run's open jobs", c -> {
                Broker.dropQueued(c, runId);
                return null;
            });
        } catch (RuntimeException e) {
            // they expire by themselves
        }
        conn.close();
        listenConn.close();
    }
}
