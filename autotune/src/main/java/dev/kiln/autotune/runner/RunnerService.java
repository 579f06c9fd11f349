package dev.kiln.autotune.runner;

import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.InfoRequest;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import dev.kiln.autotune.runner.proto.RunnerGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * The worker's side of the runner protocol: measures one request at a time with {@link Measurer},
 * in this process, the library written in the call's work directory ({@link RunnerMain#WORK_DIR}).
 */
final class RunnerService extends RunnerGrpc.RunnerImplBase {
    private final DeviceInfo info = HostInfo.describe().toBuilder().setMaxUploadBytes(RunnerMain.MAX_MESSAGE_BYTES).build();
    private final Object measuring = new Object();

    @Override
    public void info(InfoRequest request, StreamObserver<DeviceInfo> response) {
        response.onNext(info);
        response.onCompleted();
    }

    @Override
    public void measure(MeasureRequest request, StreamObserver<MeasureResult> response) {
        MeasureResult result;
        try {
            // A measurement must not share the CPU with another: requests queue here.
            synchronized (measuring) {
                result = Measurer.measure(request, RunnerMain.WORK_DIR.get());
            }
        } catch (RuntimeException e) {
            response.onError(Status.INTERNAL.withDescription("runner failed measuring candidate "
                    + request.getCandidateId() + ": " + e).asRuntimeException());
            return;
        }
        response.onNext(result);
        response.onCompleted();
    }
}
