package dev.kiln.autotune.runner;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Pattern;

/**
 * A runner's own directory for what it writes: the candidate libraries it is sent (one
 * subdirectory per session), its worker's crash reports. Private to this user (mode 700) under
 * the temporary directory, wiped when the runner closes, and, should the runner have been killed
 * before it could wipe it, at the next start of any runner: each root names its owner's process
 * id, and the roots of dead owners are removed.
 */
public final class WorkRoot implements AutoCloseable {
    static final String PREFIX = "kiln-runner-";
    private static final String OWNER_FILE = "owner.pid";
    private static final Pattern SESSION_NAME = Pattern.compile("session-[0-9]+");

    private final Path dir;

    private WorkRoot(Path dir) {
        this.dir = dir;
    }

    /** Removes the roots of runners that died, then creates a fresh one for this process. */
    public static WorkRoot create() {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        removeAbandoned(tmp);
        try {
            Path dir = Files.createTempDirectory(tmp, PREFIX); // mode 700 on POSIX file systems
            Files.writeString(dir.resolve(OWNER_FILE), Long.toString(ProcessHandle.current().pid()));
            return new WorkRoot(dir);
        } catch (IOException e) {
            throw new RunnerException("cannot create the runner's working directory under " + tmp + ": " + e.getMessage(), e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** A new, empty, private directory for session {@code id}: {@code session-ID}. */
    public Path newSession(long id) {
        Path s = dir.resolve("session-" + id);
        try {
            if (s.getFileSystem().supportedFileAttributeViews().contains("posix"))
                return Files.createDirectory(s, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            return Files.createDirectory(s);
        } catch (IOException e) {
            throw new RunnerException("cannot create a session directory in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The session directory {@code name} under {@code root}, as a worker is told it: only a name
     * {@link #newSession} makes, and only one that exists, so a header cannot point a write elsewhere.
     */
    static Path session(Path root, String name) {
        if (name == null || !SESSION_NAME.matcher(name).matches())
            throw new IllegalArgumentException("not a session name: " + name);
        Path s = root.resolve(name);
        if (!Files.isDirectory(s)) throw new IllegalArgumentException("session " + name + " is closed");
        return s;
    }

    /** Wipes everything, this root included. */
    @Override
    public void close() {
        delete(dir);
    }

    /**
     * Deletes {@code path} and, if it is a directory, all in it, without following symbolic
     * links out of it; what cannot be deleted is left (the caller has nothing better to do).
     */
    static void delete(Path path) {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try {
            Files.walkFileTree(path, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                    Files.deleteIfExists(f);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path f, IOException e) {
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // a leftover is removed at the next start of a runner
        }
    }

    /** Roots of this user whose owner process is gone. */
    private static void removeAbandoned(Path tmp) {
        String me = System.getProperty("user.name");
        try (DirectoryStream<Path> roots = Files.newDirectoryStream(tmp, PREFIX + "*")) {
            for (Path r : roots) {
                Path owner = r.resolve(OWNER_FILE);
                if (!Files.isDirectory(r, java.nio.file.LinkOption.NOFOLLOW_LINKS) || !Files.isRegularFile(owner)) continue;
                try {
                    if (!Files.getOwner(r).getName().equals(me)) continue;
                    long pid = Long.parseLong(Files.readString(owner).strip());
                    if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
                } catch (IOException | NumberFormatException | UnsupportedOperationException e) {
                    continue; // not clearly abandoned: leave it
                }
                delete(r);
            }
        } catch (IOException e) {
            // nothing to clean, or no permission to look: not this runner's business
        }
    }
}
