package dev.kiln.autotune.runner;

import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.InfoRequest;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.RunnerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;

/**
 * A runner already serving at {@code host:port} ({@link RunnerMain} on a board, say). It cannot
 * restart a runner that crashed or hangs: such a candidate reports CRASH or TIMEOUT and the next
 * request fails until someone restarts the remote side.
 */
public final class RemoteRunner implements Runner {
    /** Added to a request's timeout for the round trip and the library's load. */
    public static final long DEFAULT_SLACK_MS = 2_000;
    private static final long INFO_DEADLINE_MS = 10_000;

    private final String address;
    private final long slackMs;
    private final ManagedChannel channel;
    private final RunnerGrpc.RunnerBlockingStub stub;

    public RemoteRunner(String host, int port) {
        this(host, port, DEFAULT_SLACK_MS);
    }

    public RemoteRunner(String host, int port, long slackMs) {
        this.address = host + ":" + port;
        this.slackMs = slackMs;
        this.channel = NettyChannelBuilder.forAddress(host, port)
                .usePlaintext()
                .maxInboundMessageSize(RunnerMain.MAX_MESSAGE_BYTES)
                .build();
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

    /** The remote machine; fails if it cannot be reached or speaks another protocol version. */
    @Override
    public DeviceInfo info() {
        DeviceInfo info;
        try {
            info = stub.withDeadlineAfter(INFO_DEADLINE_MS, TimeUnit.MILLISECONDS).info(InfoRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null) root = root.getCause();
            String why = e.getStatus().getCode() + (root != e && root.getMessage() != null ? ": " + root.getMessage() : "");
            throw new RunnerException("the runner at " + address + " did not answer (" + why
                    + "); is a Kiln runner running there and reachable?", e);
        }
        if (info.getProtocolVersion() != HostInfo.PROTOCOL_VERSION) {
            throw new RunnerException("the runner at " + address + " speaks protocol version " + info.getProtocolVersion()
                    + ", this tuner " + HostInfo.PROTOCOL_VERSION + "; run the same Kiln version on both sides");
        }
        return info;
    }

    @Override
    public MeasureResult measure(MeasureRequest request) {
        try {
            return call(request);
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            if (code == Status.Code.DEADLINE_EXCEEDED) {
                return failed(request, MeasureResult.Status.TIMEOUT, "candidate " + request.getCandidateId()
                        + " did not finish within " + deadlineMs(request) + " ms at " + address
                        + "; the remote runner may still be stuck in it");
            }
            if (code == Status.Code.UNAVAILABLE) {
                return failed(request, MeasureResult.Status.CRASH, "lost the runner at " + address + " while measuring candidate "
                        + request.getCandidateId() + " (" + e.getStatus() + "); restart RunnerMain there");
            }
            throw new RunnerException("the runner at " + address + " failed on candidate " + request.getCandidateId()
                    + ": " + e.getStatus(), e);
        }
    }

    /** The bare call, with the deadline; transport failures are left to the caller to interpret. */
    MeasureResult call(MeasureRequest request) {
        return stub.withDeadlineAfter(deadlineMs(request), TimeUnit.MILLISECONDS).measure(request);
    }

    long deadlineMs(MeasureRequest request) {
        return Measurer.timeoutMs(request) + slackMs;
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
