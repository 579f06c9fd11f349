package dev.kiln.autotune.fleet;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.kiln.autotune.db.Postgres;
import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.runner.LocalRunner;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.tune.Candidate;
import dev.kiln.autotune.tune.CandidateRunner;
import dev.kiln.autotune.tune.ProgramRunner;
import dev.kiln.irhigh.KilnException;
import dev.kiln.targets.DeviceRuntime;
import dev.kiln.targets.Target;
import dev.kiln.targets.TargetException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.postgresql.PGConnection;

/**
 * A board of the fleet ({@code kiln runner --broker URL --key K}): registers itself under its key,
 * heartbeats on a connection and thread of its own (extending the lease of the job it holds),
 * takes the oldest open job of its key ({@code FOR UPDATE SKIP LOCKED}, woken by {@code LISTEN
 * kiln_jobs}, polling as a fallback), measures it with its runner (libraries in a runner process
 * where its target runs here, else programs under the target's device runtime, e.g. qemu), and
 * completes it, record and all, in one transaction. It outlives a restart of the server: it
 * reconnects for as long as it takes.
 */
public final class Board implements AutoCloseable {
    private final String name;
    private final String key;
    private final String target;
    private final String kind;
    private final CandidateRunner runner;
    private final FleetSettings settings;
    private final BrokerConnection conn;
    private final BrokerConnection beatConn;
    private final String url;
    private final PrintStream log;
    private final DeviceFacts facts;
    private volatile boolean closed;
    private Thread heartbeat;

    private Board(String url, String name, String key, String target, String kind, CandidateRunner runner, FleetSettings settings,
                  PrintStream log) {
        this.url = url;
        this.name = name;
        this.key = key;
        this.target = target;
        this.kind = kind;
        this.runner = runner;
        this.settings = settings;
        this.log = log;
        this.conn = new BrokerConnection(url, Long.MAX_VALUE / 4, List.of(Broker.JOBS));
        this.beatConn = new BrokerConnection(url, Long.MAX_VALUE / 4, List.of());
        this.facts = new DeviceFacts(runner.info(), runner.emulated(), runner.describe());
    }

    /**
     * A board serving {@code key} for {@code targetSpec} ({@code host}, or a target such as
     * {@code aarch64-neon:cortex-a72}: emulated here when this machine cannot run it).
     */
    public static Board open(String url, String key, String targetSpec, FleetSettings settings, PrintStream log) {
        return open(url, key, targetSpec, boardName(), settings, log);
    }

    /** {@link #open} with a board name of the caller's choosing (several boards in one process, in tests). */
    public static Board open(String url, String key, String targetSpec, String name, FleetSettings settings, PrintStream log) {
        Fleet.requirePostgres(url, "kiln runner --broker");
        if (key == null || key.isBlank()) throw new KilnException("--broker needs --key: the kind of board this is (e.g. --key rk3588)");
        Target t = Target.parse(targetSpec);
        String spec = targetSpec.equals("host") ? t.name() : targetSpec;
        CandidateRunner runner;
        String kind;
        if (t.canRunOnHost()) {
            runner = CandidateRunner.libraries(new LocalRunner());
            kind = Fleet.LIBRARY;
        } else {
            try {
                runner = new ProgramRunner(DeviceRuntime.forTarget(t), t);
            } catch (TargetException e) {
                throw new KilnException("this machine cannot serve " + t.name() + ": " + e.getMessage(), e);
            }
            kind = Fleet.PROGRAM;
        }
        TuningDatabase.open(url).close(); // the records' tables: the board writes each job's record
        return new Board(url, name, key, spec, kind, runner, settings, log);
    }

    public String name() {
        return name;
    }

    /** Registers the board and serves jobs until {@link #close}. */
    public void serve() {
        conn.inTransaction("create the fleet's tables", c -> {
            Broker.createSchema(c);
            return null;
        });
        register(conn);
        log.printf("board %s serving key %s (target %s, %s%s) on %s%n", name, key, target, facts.runs(),
                facts.emulated() ? ", emulated: figures prove the plumbing, not the speed" : "", Postgres.redact(url));
        log.flush();
        heartbeat = Thread.ofPlatform().daemon().name("kiln-board-heartbeat").start(this::beat);
        long lastSweep = 0;
        while (!closed) {
            if (System.currentTimeMillis() - lastSweep > settings.heartbeatMs()) {
                conn.inTransaction("take back expired leases", c -> {
                    int n = Broker.requeueExpired(c, settings.leaseS());
                    Broker.housekeep(c);
                    return n;
                });
                lastSweep = System.currentTimeMillis();
            }
            Optional<Broker.Job> job = conn.inTransaction("take a job", c -> Broker.claim(c, name, key, kind, settings.leaseS()));
            if (job.isPresent()) measure(job.get());
            else waitForJobs();
        }
    }

    private void register(BrokerConnection via) {
        via.inTransaction("register the board", c -> {
            Broker.register(c, name, key, target, kind, facts.info().getDeviceKey(), facts.toJson());
            return null;
        });
    }

    private void measure(Broker.Job job) {
        MeasureResult result;
        String id = "job " + job.id();
        try {
            Candidate c = CandidateBytes.read(job.candidate());
            MeasureRequest req = MeasureRequest.parseFrom(job.request());
            id = "job " + job.id() + " (" + req.getCandidateId() + ")";
            result = runner.measure(c, req);
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            // The board's own runner failed (not the candidate): the job may do better on another board.
            result = MeasureResult.newBuilder().setStatus(MeasureResult.Status.CRASH).setError("the board's runner failed: " + e.getMessage()).build();
        }
        Instant at = Instant.now();
        MeasureResult r = result;
        String deviceKey = facts.info().getDeviceKey();
        boolean boardFailure = r.getStatus() == MeasureResult.Status.CRASH || r.getStatus() == MeasureResult.Status.TIMEOUT;
        boolean kept = conn.inTransaction("complete " + id, c -> boardFailure
                ? Broker.fail(c, job.id(), name, r, at, deviceKey, settings.leaseS())
                : Broker.complete(c, job.id(), name, r, at, deviceKey));
        String what = r.getStatus() == MeasureResult.Status.OK
                ? String.format(Locale.ROOT, "%.4f ms", r.getCostsList().stream().mapToDouble(Double::doubleValue).min().orElse(0) * 1e3)
                : r.getStatus() + ": " + r.getError();
        log.println(id + ": " + (kept ? what : "lease lost (the job went to another board); result dropped"));
        log.flush();
    }

    private void waitForJobs() {
        try {
            conn.connection().unwrap(PGConnection.class).getNotifications((int) settings.heartbeatMs());
        } catch (SQLException e) {
            conn.closeQuietly(); // the next transaction reconnects
            BrokerConnection.sleep(200);
        }
    }

    private void beat() {
        while (!closed) {
            try {
                boolean known = beatConn.inTransaction("heartbeat", c -> Broker.heartbeat(c, name, settings.leaseS()));
                if (!known) register(beatConn);
            } catch (RuntimeException e) {
                log.println("heartbeat failed: " + e.getMessage());
            }
            try {
                Thread.sleep(settings.heartbeatMs());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        if (heartbeat != null) heartbeat.interrupt();
        runner.close();
        conn.close();
        beatConn.close();
    }

    /** {@code HOST-PID}: a board restarted is a new board; the old one shows as gone. */
    private static String boardName() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "localhost";
        }
        return host + "-" + ProcessHandle.current().pid();
    }
}
