package dev.kiln.autotune.runner;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.function.Consumer;

/**
 * The token check of every runner call: the client sends {@code authorization: Bearer TOKEN},
 * the server compares it in constant time and closes a call without it, or with another token,
 * as UNAUTHENTICATED before the request is even read, so nothing of it runs.
 */
public final class RunnerAuth {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String BEARER = "Bearer ";

    /** What the tuner shows when it sent no token to a runner that wants one. */
    static final String MISSING = "this runner needs a token: pass the token file the runner was started with "
            + "(kiln tune --token-file F, or set " + RunnerToken.ENV + ")";
    /** What the tuner shows when its token is not the runner's. */
    static final String WRONG = "wrong token: pass the same token file the runner was started with "
            + "(kiln tune --token-file F, or set " + RunnerToken.ENV + ")";

    private RunnerAuth() {}

    /**
     * Checks the token of every call to the server it is installed on; {@code refused} hears one
     * line per refused call (who, which method, why).
     */
    public static ServerInterceptor server(RunnerToken token, Consumer<String> refused) {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                String header = headers.get(AUTHORIZATION);
                String presented = header != null && header.startsWith(BEARER) ? header.substring(BEARER.length()) : null;
                if (token.matches(presented)) return next.startCall(call, headers);
                String why = presented == null ? MISSING : WRONG;
                refused.accept("refused " + call.getMethodDescriptor().getBareMethodName() + " from "
                        + call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR) + ": " + (presented == null ? "no token" : "wrong token"));
                call.close(Status.UNAUTHENTICATED.withDescription(why), new Metadata());
                return new ServerCall.Listener<>() {};
            }
        };
    }

    /** Adds {@code token} to every call of the channel it is installed on. */
    public static ClientInterceptor client(RunnerToken token) {
        return new ClientInterceptor() {
            @Override
            public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                    @Override
                    public void start(Listener<R> listener, Metadata headers) {
                        headers.put(AUTHORIZATION, BEARER + token.value());
                        super.start(listener, headers);
                    }
                };
            }
        };
    }
}
