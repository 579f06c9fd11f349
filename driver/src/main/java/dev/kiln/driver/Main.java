package dev.kiln.driver;

import dev.kiln.driver.tune.CacheCommand;
import dev.kiln.driver.tune.DbCommand;
import dev.kiln.driver.tune.RunnerCommand;
import dev.kiln.driver.tune.TuneCommand;
import dev.kiln.irhigh.KilnException;
import dev.kiln.targets.TargetException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kiln} command. */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0",
        description = "Kiln compiles ONNX models into fast native libraries for the machine they run on.",
        subcommands = {CompileCommand.class, QuantizeCommand.class, TuneCommand.class, RunnerCommand.class, dev.kiln.driver.tune.BoardsCommand.class, DbCommand.class, CacheCommand.class, RunCommand.class, BenchCommand.class, ZooCommand.class, DevicesCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (0 ok, 1 failure, 2 usage error). */
    public static int execute(String... args) {
        return execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** As {@link #execute(String...)}, with picocli's messages and errors going to the given writers. */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setOut(out);
        cmd.setErr(err);
        cmd.setExecutionExceptionHandler((ex, line, parsed) -> reportError(ex, line.getErr(), isVerbose(parsed)));
        return cmd.execute(args);
    }

    private static boolean isVerbose(CommandLine.ParseResult parsed) {
        CommandLine.ParseResult p = parsed;
        while (p != null) {
            if (p.hasMatchedOption("--verbose")) return true;
            p = p.subcommand();
        }
        return false;
    }

    static int reportError(Exception ex, PrintWriter err, boolean verbose) {
        boolean forUser = ex instanceof KilnException || ex instanceof TargetException;
        if (forUser) {
            err.println("kiln: error: " + ex.getMessage());
        } else {
            err.println("kiln: internal error: " + ex + (verbose ? "" : " (run again with --verbose for the stack trace, and please report it)"));
        }
        if (verbose) ex.printStackTrace(err);
        err.flush();
        return 1;
    }
}
