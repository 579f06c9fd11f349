package dev.kiln.autotune.runner;

import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.InfoRequest;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.RunnerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * A runner already serving at {@code host:port}: {@code kiln runner} on a board, or the worker of
 * a {@link LocalRunner}. It presents the runner's token on every call and, with a certificate,
 * speaks TLS to a runner holding exactly that certificate. A board's runner measures in a worker
 * it restarts after a crash or hang, so such a candidate comes back as CRASH or TIMEOUT and the
 * next one measures; losing the connection itself is reported as CRASH too.
 */
public final class RemoteRunner implements Runner {
    /** Added to a request's timeout for the round trip and the library's load. */
    public static final long DEFAULT_SLACK_MS = 2_000;
    /**
     * A board's runner gives its worker {@link #DEFAULT_SLACK_MS} before it reports a hang itself:
     * the tuner waits longer, so that it hears the runner's TIMEOUT rather than a deadline of its own.
     */
    public static final long BOARD_SLACK_MS = DEFAULT_SLACK_MS + 3_000;
    /** Bytes a request may take per millisecond of its deadline on top of the slack (10 MB/s). */
    private static final long UPLOAD_BYTES_PER_MS = 10_000;
    private static final long INFO_DEADLINE_MS = 10_000;

    /** How the tuner proves itself to a runner: its token, and the certificate it pins (each may be null). */
    public record Credentials(RunnerToken token, Path certificate) {
        public static final Credentials NONE = new Credentials(null, null);
    }

    private final String address;
    private final long slackMs;
    private final Credentials credentials;
    private final ManagedChannel channel;
    private final RunnerGrpc.RunnerBlockingStub stub;
    /** The runner's upload limit, from its {@link #info()}; 0 until known. */
    private volatile long maxUploadBytes;

    public RemoteRunner(String host, int port, Credentials credentials) {
        this(host, port, BOARD_SLACK_MS, credentials);
    }

    public RemoteRunner(String host, int port, long slackMs, Credentials credentials) {
        this.address = host + ":" + port;
        this.slackMs = slackMs;
        this.credentials = credentials;
        NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port).maxInboundMessageSize(RunnerMain.MAX_MESSAGE_BYTES);
        if (credentials.certificate() != null) b.sslContext(RunnerTls.client(credentials.certificate()));
        else b.usePlaintext();
        if (credentials.token() != null) b.intercept(RunnerAuth.client(credentials.token()));
        this.channel = b.build();
        this.stub = RunnerGrpc.newBlockingStub(channel);
    }

    public String address() {
        return address;
    }

    /** A board: its measurements use its own cores, so builds here may overlap them. */
    @Override
    public boolean sharesCores() {
        return false;
    }

    /**
     * The remote machine; fails if it cannot be reached, refuses this tuner's token or certificate,
     * or speaks another protocol version.
     */
    @Override
    public DeviceInfo info() {
        DeviceInfo info;
        try {
            info = stub.withDeadlineAfter(INFO_DEADLINE_MS, TimeUnit.MILLISECONDS).info(InfoRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            throw new RunnerException(refusal(e), e);
        }
        if (info.getProtocolVersion() != HostInfo.PROTOCOL_VERSION) {
            throw new RunnerException("the runner at " + address + " speaks protocol version " + info.getProtocolVersion()
                    + ", this tuner " + HostInfo.PROTOCOL_VERSION + "; run the same Kiln version on both sides");
        }
        maxUploadBytes = info.getMaxUploadBytes();
        return info;
    }

    @Override
    public MeasureResult measure(MeasureRequest request) {
        long limit = maxUploadBytes;
        if (limit > 0 && request.getSerializedSize() > limit) throw new RunnerException(tooLarge(request, limit));
        try {
            return call(request, null);
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            if (code == Status.Code.DEADLINE_EXCEEDED) {
                return failed(request, MeasureResult.Status.TIMEOUT, "candidate " + request.getCandidateId()
                        + " did not finish within " + deadlineMs(request) + " ms at " + address
                        + "; the remote runner may still be stuck in it");
            }
            if (code == Status.Code.RESOURCE_EXHAUSTED) throw new RunnerException(tooLarge(request, limit > 0 ? limit : askLimit()), e);
            if (code == Status.Code.UNAVAILABLE) {
                return failed(request, MeasureResult.Status.CRASH, "lost the runner at " + address + " while measuring candidate "
                        + request.getCandidateId() + " (" + e.getStatus() + "); is 'kiln runner' still running there?");
            }
            throw new RunnerException(refusal(e), e);
        }
    }

    /**
     * The bare call, with the deadline, in the runner's session directory {@code session} (null: its
     * root); transport failures are left to the caller to interpret.
     */
    MeasureResult call(MeasureRequest request, String session) {
        RunnerGrpc.RunnerBlockingStub s = stub.withDeadlineAfter(deadlineMs(request), TimeUnit.MILLISECONDS);
        if (session != null) {
            Metadata m = new Metadata();
            m.put(RunnerMain.SESSION, session);
            s = s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(m));
        }
        return s.measure(request);
    }

    /** The request's timeout, the slack, and time to upload it at 10 MB/s. */
    long deadlineMs(MeasureRequest request) {
        return Measurer.timeoutMs(request) + slackMs + request.getSerializedSize() / UPLOAD_BYTES_PER_MS;
    }

    /** The runner's upload limit, asked for after it refused a request; 0 if it does not say. */
    private long askLimit() {
        try {
            return info().getMaxUploadBytes();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private String tooLarge(MeasureRequest request, long limit) {
        return String.format(Locale.ROOT, "candidate %s is %.1f MB, the runner at %s accepts %s: raise --max-upload-mb there",
                request.getCandidateId(), request.getSerializedSize() / 1048576.0, address,
                limit > 0 ? String.format(Locale.ROOT, "%.0f MB", limit / 1048576.0) : "less");
    }

    /** Why the runner did not serve a call, and what to do about it. */
    private String refusal(StatusRuntimeException e) {
        Status s = e.getStatus();
        if (s.getCode() == Status.Code.UNAUTHENTICATED) {
            return "the runner at " + address + " refused this tuner: " + s.getDescription();
        }
        Throwable root = e;
        boolean tls = false;
        for (Throwable c = e; c != null; c = c.getCause()) {
            tls |= c instanceof SSLException;
            root = c;
        }
        // gRPC's description of a failed transport goes on with its channel pipeline: the first line says it.
        String why = s.getCode() + (s.getDescription() != null ? ": " + s.getDescription().lines().findFirst().orElse("") : "")
                + (root != e && root.getMessage() != null ? " (" + root.getMessage() + ")" : "");
        if (credentials.certificate() != null && tls) {
            String m = String.valueOf(root.getMessage());
            if (m.contains("not an SSL/TLS record"))
                return "the runner at " + address + " does not speak TLS, but --tls-cert " + credentials.certificate()
                        + " was given: start the runner with --tls-cert and --tls-key, or drop --tls-cert here ("
                        + s.getCode() + ": not an SSL/TLS record)";
            String host = address.substring(0, address.lastIndexOf(':'));
            if (m.contains("No subject alternative") || m.contains("No name matching"))
                return "the runner at " + address + " has a certificate that does not name " + host + ": make its pair with "
                        + "'kiln runner --gen-cert DIR --host " + host + "', or reach it by a name the certificate has (" + why + ")";
            return "the runner at " + address + " failed the TLS handshake: the certificate it serves is not "
                    + credentials.certificate() + "; give the runner.crt of the pair it was started with (" + why + ")";
        }
        // A TLS runner hangs up on a plaintext HTTP/2 preface without a word.
        if (credentials.certificate() == null && s.getCode() == Status.Code.UNAVAILABLE
                && String.valueOf(s.getDescription()).contains("Network closed"))
            return "the runner at " + address + " closed the connection (" + why + "): if it serves TLS (started with --tls-cert), "
                    + "pass its certificate with --tls-cert F";
        String port = address.substring(address.lastIndexOf(':') + 1);
        return "the runner at " + address + " did not answer (" + why + "); is a Kiln runner running there and reachable? "
                + "Start one on the board with 'kiln runner --bind 0.0.0.0 --port " + port + " --token-file F'";
    }

    static MeasureResult failed(MeasureRequest request, MeasureResult.Status status, String message) {
        return MeasureResult.newBuilder().setCandidateId(request.getCandidateId()).setStatus(status).setError(message).build();
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
