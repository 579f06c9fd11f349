package dev.kiln.driver.tune;

import dev.kiln.autotune.db.TuningDatabase;
import dev.kiln.autotune.db.TuningDbException;
import dev.kiln.irhigh.KilnException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The {@code --db} option: a JDBC URL ({@code jdbc:sqlite:FILE}, {@code jdbc:postgresql://HOST/DB}) or a plain SQLite file path. */
public final class Databases {
    private Databases() {}

    /** The JDBC URL of a {@code --db} value; null (the default database) for null or blank. */
    public static String url(String db) {
        if (db == null || db.isBlank()) return null;
        return db.startsWith("jdbc:") ? db.strip() : "jdbc:sqlite:" + db.strip();
    }

    /** Opens {@code --db} (null: the default database), with a user-facing error if it cannot be. */
    public static TuningDatabase open(String db) {
        try {
            return TuningDatabase.open(url(db));
        } catch (TuningDbException e) {
            throw new KilnException(e.getMessage(), e);
        }
    }

    /** The default database, opened only if its file exists (compile never creates it); empty otherwise. */
    public static Optional<TuningDatabase> openDefaultIfPresent() {
        return Files.isRegularFile(defaultFile()) ? Optional.of(open(null)) : Optional.empty();
    }

    /** The default database's file, {@code ~/.kiln/tuning.db}. */
    public static Path defaultFile() {
        return Path.of(System.getProperty("user.home"), ".kiln", "tuning.db");
    }
}
