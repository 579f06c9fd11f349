package dev.kiln.autotune.runner;

import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.InfoRequest;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.RunnerGrpc;
import io.grpc.Attributes;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * {@code kiln runner}'s server: the runner protocol for tuners on other machines. Every call must
 * carry the runner's token ({@link RunnerAuth}); it may be served over TLS; requests above the
 * upload limit are refused before they are read whole. It measures nothing itself: each request
 * goes to a worker process ({@link LocalRunner}), restarted after a candidate crashes or hangs it,
 * so the server outlives any candidate. Each connection is a session with a directory of its own
 * for the libraries it sends, created on its first measurement and wiped when it closes; the whole
 * {@link WorkRoot} is wiped when the server closes.
 */
public final class RunnerServer implements AutoCloseable {
    /** The default of {@code --max-upload-mb}: a model library with its weights, with room to spare. */
    public static final int DEFAULT_MAX_UPLOAD_MB = 256;
    /** The most {@code --max-upload-mb} may be: one gRPC message cannot pass 2 GiB, and protobuf reads it at once. */
    public static final int MAX_UPLOAD_MB_LIMIT = 1024;

    /**
     * How to serve: {@code token} null only on a loopback address; {@code tlsCert} and
     * {@code tlsKey} both or neither.
     */
    public record Config(String bind, int port, RunnerToken token, Path tlsCert, Path tlsKey, int maxUploadMb) {}

    private static final Attributes.Key<Session> SESSION = Attributes.Key.create("kiln-session");
    private static final Context.Key<Session> CURRENT = Context.key("kiln-session");

    private final Server server;
    private final WorkRoot root;
    private final LocalRunner worker;
    private final AtomicLong measured;

    private RunnerServer(Server server, WorkRoot root, LocalRunner worker, AtomicLong measured) {
        this.server = server;
        this.root = root;
        this.worker = worker;
        this.measured = measured;
    }

    /**
     * Checks {@code config} and starts serving; {@code log} hears refused calls, sessions that
     * measured something, and the worker's starts, crashes and hangs. Refuses a non-loopback
     * address without a token.
     */
    public static RunnerServer start(Config config, Consumer<String> log) throws IOException {
        InetAddress address = resolve(config.bind());
        if (config.token() == null && !address.isLoopbackAddress())
            throw new RunnerException("refusing to listen on " + config.bind() + " without a token: anyone who reaches the port "
                    + "could run any code on this machine. Give --token-file F (readable by you alone; " + RunnerToken.HOW_TO_MAKE
                    + ") or set " + RunnerToken.ENV + ", and the same token to 'kiln tune --rpc'; or listen on 127.0.0.1 only");
        if ((config.tlsCert() == null) != (config.tlsKey() == null))
            throw new RunnerException("--tls-cert and --tls-key go together: the runner's certificate and its private key "
                    + "('kiln runner --gen-cert DIR' writes a pair)");
        if (config.maxUploadMb() < 1 || config.maxUploadMb() > MAX_UPLOAD_MB_LIMIT)
            throw new RunnerException("--max-upload-mb must be from 1 to " + MAX_UPLOAD_MB_LIMIT + ", got " + config.maxUploadMb());
        int maxBytes = config.maxUploadMb() << 20;

        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(address, config.port()))
                .maxInboundMessageSize(maxBytes);
        if (config.tlsCert() != null) b.sslContext(RunnerTls.server(config.tlsCert(), config.tlsKey()));
        WorkRoot root = WorkRoot.create();
        LocalRunner worker = new LocalRunner(RemoteRunner.DEFAULT_SLACK_MS, root, log);
        AtomicLong sessions = new AtomicLong();
        b.addTransportFilter(new ServerTransportFilter() {
            @Override
            public Attributes transportReady(Attributes attrs) {
                Session s = new Session(sessions.incrementAndGet(), attrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), root, log);
                return attrs.toBuilder().set(SESSION, s).build();
            }

            @Override
            public void transportTerminated(Attributes attrs) {
                Session s = attrs == null ? null : attrs.get(SESSION); // null: the TLS handshake failed
                if (s != null) s.close();
            }
        });
        AtomicLong measured = new AtomicLong();
        b.addService(new Front(worker, measured, maxBytes));
        // The last interceptor added runs first: the token is checked before anything else happens.
        b.intercept(new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                Context c = Context.current().withValue(CURRENT, call.getAttributes().get(SESSION));
                return Contexts.interceptCall(c, call, headers, next);
            }
        });
        if (config.token() != null) b.intercept(RunnerAuth.server(config.token(), log));
        Server server;
        try {
            server = b.build().start();
        } catch (IOException | RuntimeException e) {
            root.close();
            throw e;
        }
        return new RunnerServer(server, root, worker, measured);
    }

    private static InetAddress resolve(String bind) {
        if (bind == null || bind.isBlank()) throw new RunnerException("--bind needs an address, e.g. 127.0.0.1 or 0.0.0.0");
        try {
            return InetAddress.getByName(bind);
        } catch (UnknownHostException e) {
            throw new RunnerException("cannot resolve --bind " + bind + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return server.getPort();
    }

    /** Where sessions keep their libraries; gone once the server is closed. */
    public Path workRoot() {
        return root.dir();
    }

    /** Requests handed to the worker so far. */
    public long measured() {
        return measured.get();
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /** Stops serving, stops the worker and wipes every session's directory. */
    @Override
    public void close() {
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        worker.close();
        root.close();
    }

    /** One client connection: a directory for its libraries, made when it first sends one. */
    private static final class Session {
        private final long id;
        private final Object peer;
        private final WorkRoot root;
        private final Consumer<String> log;
        private Path dir;
        private long measured;
        private boolean closed;

        Session(long id, Object peer, WorkRoot root, Consumer<String> log) {
            this.id = id;
            this.peer = peer;
            this.root = root;
            this.log = log;
        }

        /** The session's directory name, for the worker. */
        synchronized String open() {
            if (closed) throw Status.CANCELLED.withDescription("the connection closed").asRuntimeException();
            if (dir == null) dir = root.newSession(id);
            measured++;
            return dir.getFileName().toString();
        }

        synchronized void close() {
            closed = true;
            if (dir == null) return;
            WorkRoot.delete(dir);
            log.accept("session " + id + " from " + peer + " closed: " + measured + " candidates measured, their directory wiped");
        }
    }

    /** The protocol's front: answers Info itself and hands each measurement to the worker, one at a time. */
    private static final class Front extends RunnerGrpc.RunnerImplBase {
        private final LocalRunner worker;
        private final AtomicLong measured;
        private final DeviceInfo info;

        Front(LocalRunner worker, AtomicLong measured, int maxUploadBytes) {
            this.worker = worker;
            this.measured = measured;
            this.info = HostInfo.describe().toBuilder().setMaxUploadBytes(maxUploadBytes).build();
        }

        @Override
        public void info(InfoRequest request, StreamObserver<DeviceInfo> response) {
            response.onNext(info);
            response.onCompleted();
        }

        @Override
        public void measure(MeasureRequest request, StreamObserver<MeasureResult> response) {
            MeasureResult result;
            try {
                synchronized (worker) {
                    // A tuner that gave up while this request queued does not want it measured any more.
                    if (Context.current().isCancelled()) throw Status.CANCELLED.withDescription("the tuner gave up").asRuntimeException();
                    String session = CURRENT.get().open();
                    measured.incrementAndGet();
                    result = worker.measure(request, session);
                }
            } catch (StatusRuntimeException e) {
                response.onError(e);
                return;
            } catch (RuntimeException e) {
                response.onError(Status.INTERNAL.withDescription("runner failed measuring candidate "
                        + request.getCandidateId() + ": " + e.getMessage()).asRuntimeException());
                return;
            }
            response.onNext(result);
            response.onCompleted();
        }
    }
}
