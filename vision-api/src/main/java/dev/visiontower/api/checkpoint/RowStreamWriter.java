package dev.visiontower.api.checkpoint;

import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Shapes;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes float32 tensors whose first dimension grows as rows arrive (embeddings of a folder of images) to a
 * {@code .safetensors} or {@code .npy} file with flat memory: each tensor's rows go to a temporary spool file beside the
 * target; {@link #commit()} writes the header, appends the spools and renames the result into place. Closing without
 * a commit deletes the spools and leaves the target as it was, so a failed run writes nothing partial.
 */
public final class RowStreamWriter implements AutoCloseable {
    private final Path target;
    private final boolean npy;
    private final Map<String, String> metadata;
    private final Map<String, Spool> spools = new LinkedHashMap<>();
    private boolean done;

    private static final class Spool {
        final Path file;
        final OutputStream out;
        final long[] rowShape;
        long rows;

        Spool(Path file, long[] rowShape) throws IOException {
            this.file = file;
            this.out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20);
            this.rowShape = rowShape;
        }
    }

    private RowStreamWriter(Path target, boolean npy, Map<String, String> metadata) {
        this.target = target.toAbsolutePath();
        this.npy = npy;
        this.metadata = metadata;
    }

    /** Tensors by name, into one safetensors file with {@code metadata} in its header. */
    public static RowStreamWriter safetensors(Path file, Map<String, String> metadata) {
        return new RowStreamWriter(file, false, metadata);
    }

    /** One tensor into a {@code .npy} file (the name given to {@link #append} is only used in messages). */
    public static RowStreamWriter npy(Path file) {
        return new RowStreamWriter(file, true, Map.of());
    }

    /** Appends {@code rows} ({@code [n, ...]}, float32) to tensor {@code name}; every call must agree on {@code ...}. */
    public void append(String name, HostTensor rows) {
        if (done) {
            throw new IllegalStateException("writer for " + target + " is already committed or closed");
        }
        if (rows.dtype() != DType.FLOAT32 || rows.rank() < 1) {
            throw new IllegalArgumentException(name + ": rows must be float32 [n, ...], got " + rows.dtype()
                    + Shapes.format(rows.shape()));
        }
        long[] rowShape = java.util.Arrays.copyOfRange(rows.shape(), 1, rows.rank());
        try {
            Spool s = spools.get(name);
            if (s == null) {
                if (npy && !spools.isEmpty()) {
                    throw new IllegalStateException(target + ": a .npy file holds one tensor, already writing "
                            + spools.keySet());
                }
                Files.createDirectories(target.getParent());
                s = new Spool(AtomicFiles.newSiblingFile(target), rowShape);
                spools.put(name, s);
            } else if (!java.util.Arrays.equals(s.rowShape, rowShape)) {
                throw new IllegalArgumentException(name + ": rows of shape " + Shapes.format(rowShape)
                        + " after rows of shape " + Shapes.format(s.rowShape));
            }
            SafetensorsWriter.writeData(s.out, rows);
            s.rows += rows.dim(0);
        } catch (IOException e) {
            throw new InvalidInputException(target + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** Rows appended to {@code name} so far. */
    public long rows(String name) {
        Spool s = spools.get(name);
        return s == null ? 0 : s.rows;
    }

    /** Writes the file and renames it into place. */
    public void commit() {
        if (done) {
            throw new IllegalStateException("writer for " + target + " is already committed or closed");
        }
        if (spools.isEmpty()) {
            throw new InvalidInputException(target + ": nothing to write (no rows were added)");
        }
        Map<String, SafetensorsWriter.Entry> entries = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Spool> e : spools.entrySet()) {
                Spool s = e.getValue();
                s.out.close();
                long[] shape = new long[s.rowShape.length + 1];
                shape[0] = s.rows;
                System.arraycopy(s.rowShape, 0, shape, 1, s.rowShape.length);
                entries.put(e.getKey(), new SafetensorsWriter.Entry(DType.FLOAT32, shape));
            }
            byte[] prefix = npy ? Npy.header(DType.FLOAT32, entries.values().iterator().next().shape())
                    : SafetensorsWriter.prefix(entries, metadata);
            Path tmp = AtomicFiles.newSiblingFile(target);
            try {
                try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    out.write(java.nio.ByteBuffer.wrap(prefix));
                    for (Spool s : spools.values()) {
                        try (FileChannel in = FileChannel.open(s.file, StandardOpenOption.READ)) {
                            long size = in.size();
                            for (long pos = 0; pos < size; ) {
                                pos += in.transferTo(pos, size - pos, out);
                            }
                        }
                    }
                    out.force(false);
                }
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new InvalidInputException(target + ": cannot write: " + e.getMessage(), e);
        } finally {
            close();
        }
    }

    /** Deletes the spools; harmless after {@link #commit()} and when called twice. */
    @Override
    public void close() {
        done = true;
        for (Spool s : spools.values()) {
            try {
                s.out.close();
            } catch (IOException ignored) {
                // deleting it anyway
            }
            try {
                Files.deleteIfExists(s.file);
            } catch (IOException ignored) {
                // a stray temporary file; AtomicFiles names it as one
            }
        }
        spools.clear();
    }
}
