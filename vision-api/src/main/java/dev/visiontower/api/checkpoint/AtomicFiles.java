package dev.visiontower.api.checkpoint;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Scratch files and directories next to an output, to be renamed onto it once complete (writes are atomic: a reader
 * never sees half a file). Unlike {@link Files#createTempFile}, which makes owner-only (0600) files, they get the
 * process's default permissions (the umask), so a written checkpoint or embedding file is as readable as any other
 * file the user creates.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Creates an empty file {@code .<name>.<random>.tmp} in the directory of {@code target}. */
    public static Path newSiblingFile(Path target) throws IOException {
        return create(target, false);
    }

    /** Creates an empty directory {@code .<name>.<random>.tmp} in the directory of {@code target}. */
    public static Path newSiblingDirectory(Path target) throws IOException {
        return create(target, true);
    }

    private static Path create(Path target, boolean directory) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        for (int attempt = 0; ; attempt++) {
            String suffix = Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
            Path p = dir.resolve("." + abs.getFileName() + "." + suffix + ".tmp");
            try {
                return directory ? Files.createDirectory(p) : Files.createFile(p);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) {
                    throw e;
                }
            }
        }
    }
}
