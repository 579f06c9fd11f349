package dev.kiln.autotune.runner;

import dev.kiln.autotune.runner.proto.DeviceInfo;
import dev.kiln.autotune.runner.proto.MeasureRequest;
import dev.kiln.autotune.runner.proto.MeasureResult;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * Measures candidates in a worker: a child JVM running {@link RunnerMain}, so that a candidate that
 * crashes or hangs costs a restart of the worker, not this process (the tuner, or the front of
 * {@code kiln runner}). A hang is a call that overruns its timeout plus slack: the worker is killed.
 * The worker is started on first use and again after each crash or hang; it exits by itself if
 * this process dies. It listens on loopback only and answers only this process, which hands it a
 * fresh random token through its environment. Libraries and crash reports go to a {@link WorkRoot}.
 */
public final class LocalRunner implements Runner {
    private static final long START_TIMEOUT_S = 60;
    private static final int TAIL_LINES = 60;

    private final long slackMs;
    private final boolean ownsRoot;
    /** Null until the first worker, and once this runner closed the root it made; the next worker makes one. */
    private WorkRoot root;
    private final Consumer<String> events;
    private Child child;

    public LocalRunner() {
        this(RemoteRunner.DEFAULT_SLACK_MS);
    }

    /** {@code slackMs}: added to each request's timeout before the worker counts as hung. */
    public LocalRunner(long slackMs) {
        this(slackMs, null, true, line -> {}); // the root is made with the first worker
    }

    /**
     * A worker writing in {@code root}, which the caller owns and wipes; {@code events} hears when
     * the worker starts, crashes or hangs.
     */
    LocalRunner(long slackMs, WorkRoot root, Consumer<String> events) {
        this(slackMs, root, false, events);
    }

    private LocalRunner(long slackMs, WorkRoot root, boolean ownsRoot, Consumer<String> events) {
        this.slackMs = slackMs;
        this.root = root;
        this.ownsRoot = ownsRoot;
        this.events = events;
    }

    @Override
    public synchronized DeviceInfo info() {
        return child().remote.info();
    }

    @Override
    public MeasureResult measure(MeasureRequest request) {
        return measure(request, null);
    }

    /** Measures with the library written in {@code session}, a directory of the root (null: the root itself). */
    synchronized MeasureResult measure(MeasureRequest request, String session) {
        Child c = child();
        try {
            return c.remote.call(request, session);
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            if (code == Status.Code.DEADLINE_EXCEEDED) {
                kill();
                events.accept("candidate " + request.getCandidateId() + " hung; killed the measuring worker");
                return RemoteRunner.failed(request, MeasureResult.Status.TIMEOUT, "candidate " + request.getCandidateId()
                        + " did not finish within " + c.remote.deadlineMs(request) + " ms (timeout " + Measurer.timeoutMs(request)
                        + " ms + " + slackMs + " ms slack); killed the measuring worker, which restarts for the next candidate");
            }
            // INTERNAL is the live worker reporting its own failure; anything else means it is gone.
            if (code != Status.Code.INTERNAL || !c.process.isAlive()) {
                Integer exit = c.awaitExit(5);
                kill();
                c.deleteErrorReport();
                String summary = c.crashSummary();
                events.accept("candidate " + request.getCandidateId() + " crashed the measuring worker: " + summary);
                return RemoteRunner.failed(request, MeasureResult.Status.CRASH, "the measuring worker died measuring candidate "
                        + request.getCandidateId() + (exit == null ? "" : " (exit code " + exit + ")") + ": " + summary);
            }
            throw new RunnerException("the measuring worker failed on candidate " + request.getCandidateId() + ": " + e.getStatus(), e);
        }
    }

    /**
     * Stops the worker (a later call starts a new one); wipes the work root if this runner made it
     * (a later call makes another).
     */
    @Override
    public synchronized void close() {
        if (child != null) {
            child.remote.close();
            child.process.destroy();
            if (child.awaitExit(5) == null) child.process.destroyForcibly();
            child = null;
        }
        if (ownsRoot && root != null) {
            root.close();
            root = null;
        }
    }

    private Child child() {
        if (child != null && child.process.isAlive()) return child;
        if (child != null) kill();
        if (root == null) root = WorkRoot.create();
        child = Child.start(slackMs, root.dir());
        events.accept("started the measuring worker (pid " + child.process.pid() + ")");
        return child;
    }

    private void kill() {
        child.remote.close();
        child.process.destroyForcibly();
        child.awaitExit(5);
        child = null;
    }

    /** One child process, the channel to it and the last lines it printed. */
    private static final class Child {
        final Process process;
        final RemoteRunner remote;
        private final Path root;
        private final Deque<String> tail;
        private final Thread reader;

        private Child(Process process, RemoteRunner remote, Path root, Deque<String> tail, Thread reader) {
            this.process = process;
            this.remote = remote;
            this.root = root;
            this.tail = tail;
            this.reader = reader;
        }

        /** Starts {@link RunnerMain} in a JVM like this one, in {@code root}, and waits until it listens. */
        static Child start(long slackMs, Path root) {
            String java = ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                    // A crashing candidate must not litter the working directory with reports and cores.
                    "-XX:ErrorFile=" + errorFile(root, "%p"), "-XX:-CreateCoredumpOnCrash",
                    "-cp", System.getProperty("java.class.path"), RunnerMain.class.getName(), "--port", "0",
                    "--work-root", root.toString(), "--exit-on-stdin-eof");
            RunnerToken token = RunnerToken.random();
            Process process;
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(root.toFile());
                pb.environment().put(RunnerToken.ENV, token.value()); // the environment, unlike the command line, is this user's alone
                process = pb.start();
            } catch (IOException e) {
                throw new RunnerException("cannot start the runner process (" + java + "): " + e.getMessage(), e);
            }
            Deque<String> tail = new ArrayDeque<>();
            CompletableFuture<Integer> port = new CompletableFuture<>();
            Thread reader = new Thread(() -> readOutput(process, tail, port), "kiln-runner-output");
            reader.setDaemon(true);
            reader.start();
            int p;
            try {
                p = port.get(START_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                process.destroyForcibly();
                String out;
                synchronized (tail) {
                    out = String.join("\n", tail);
                }
                throw new RunnerException("the runner process did not start listening within " + START_TIMEOUT_S
                        + " s; its output:\n" + out, e);
            }
            return new Child(process, new RemoteRunner("127.0.0.1", p, slackMs, new RemoteRunner.Credentials(token, null)),
                    root, tail, reader);
        }

        private static String errorFile(Path root, Object pid) {
            return root.resolve("hs_err_pid" + pid + ".log").toString();
        }

        /** Finds the port in the child's output, then keeps its last lines for crash reports. */
        private static void readOutput(Process process, Deque<String> tail, CompletableFuture<Integer> port) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (!port.isDone() && line.startsWith(RunnerMain.LISTENING)) {
                        port.complete(Integer.parseInt(line.substring(RunnerMain.LISTENING.length()).strip()));
                        continue;
                    }
                    synchronized (tail) {
                        tail.addLast(line);
                        if (tail.size() > TAIL_LINES) tail.removeFirst();
                    }
                }
            } catch (IOException | NumberFormatException e) {
                port.completeExceptionally(e);
            }
            port.completeExceptionally(new IOException("the runner process exited"));
        }

        /**
         * Candidates are expected to crash now and then while tuning; the summary in the result
         * says what happened, so the JVM's long report would only pile up in the temp directory.
         */
        void deleteErrorReport() {
            try {
                Files.deleteIfExists(Path.of(errorFile(root, process.pid())));
            } catch (IOException e) {
                // a leftover report is harmless
            }
        }

        Integer awaitExit(long seconds) {
            try {
                return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        /**
         * The lines of the JVM's fatal error report that say what happened (signal, frame), or
         * the last lines the child printed.
         */
        String crashSummary() {
            try {
                reader.join(2_000); // the child is dead: let the reader drain what it printed last
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            List<String> lines;
            synchronized (tail) {
                lines = new ArrayList<>(tail);
            }
            List<String> picked = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i);
                if (l.matches(".*\\bSIG[A-Z]+\\b.*")) picked.add(l.replaceFirst("^#\\s*", ""));
                if (l.contains("Problematic frame") && i + 1 < lines.size()) picked.add(lines.get(i + 1).replaceFirst("^#\\s*", ""));
            }
            if (picked.isEmpty()) picked = lines.subList(Math.max(0, lines.size() - 5), lines.size());
            return picked.isEmpty() ? "(no output)" : String.join(" | ", picked);
        }
    }
}
