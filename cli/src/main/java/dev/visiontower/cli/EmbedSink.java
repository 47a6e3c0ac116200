package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.AtomicFiles;
import dev.visiontower.api.checkpoint.RowStreamWriter;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where {@code embed} streams its results, a batch at a time, so that memory stays flat. {@link #commit()} puts the
 * finished output in place; {@link #close()} without a commit leaves no output file ({@code .jsonl} keeps its
 * {@code OUTPUT.partial} for {@code --resume}).
 */
abstract class EmbedSink implements AutoCloseable {
    /**
     * One batch: {@code labels} (the image of each row, or {@code null} for rows from a pixel tensor) and
     * {@code tiles} (each row's tile index, or {@code null} without tiling), then the model's outputs for the rows.
     */
    abstract void add(List<String> labels, List<Integer> tiles, HostTensor lastHidden, HostTensor pooled,
                      HostTensor embeds);

    abstract void commit();

    /** Whether, for a model without projection, the pooled output is written as the embedding (not .safetensors). */
    abstract boolean pooledIsTheEmbedding();

    @Override
    public abstract void close();

    /** Images already in the output when resuming (empty otherwise). */
    Set<String> done() {
        return Set.of();
    }

    static Path partialFile(Path output) {
        return output.resolveSibling(output.getFileName() + ".partial");
    }

    /** {@code .safetensors} (all outputs) or {@code .npy} (the embedding), with {@code OUTPUT.paths.txt} for images. */
    static final class Tensors extends EmbedSink {
        private final Path output;
        private final boolean npy;
        private final RowStreamWriter writer;
        private Path pathsTmp;
        private BufferedWriter paths;
        private boolean tiled;

        Tensors(Path output, boolean npy, Map<String, String> metadata) {
            this.output = output;
            this.npy = npy;
            this.writer = npy ? RowStreamWriter.npy(output) : RowStreamWriter.safetensors(output, metadata);
        }

        @Override
        void add(List<String> labels, List<Integer> tiles, HostTensor lastHidden, HostTensor pooled,
                 HostTensor embeds) {
            HostTensor embedding = embeds != null ? embeds : pooled;
            if (npy) {
                if (embedding == null) {
                    throw new InvalidInputException("this model has no pooled output; write .safetensors to get "
                            + "last_hidden_state");
                }
                writer.append("image_embeds", embedding);
            } else {
                writer.append("last_hidden_state", lastHidden);
                if (pooled != null) {
                    writer.append("pooler_output", pooled);
                }
                if (embeds != null) {
                    writer.append("image_embeds", embeds);
                }
            }
            if (labels != null) {
                try {
                    if (paths == null) {
                        Path sidecar = sidecar();
                        pathsTmp = AtomicFiles.newSiblingFile(sidecar.toAbsolutePath());
                        paths = Files.newBufferedWriter(pathsTmp, StandardCharsets.UTF_8);
                    }
                    for (int r = 0; r < labels.size(); r++) {
                        paths.write(labels.get(r));
                        if (tiles != null) {
                            paths.write("\t" + tiles.get(r));
                        }
                        paths.write('\n');
                    }
                } catch (IOException e) {
                    throw new InvalidInputException(sidecar() + ": cannot write: " + e.getMessage(), e);
                }
            }
        }

        @Override
        boolean pooledIsTheEmbedding() {
            return npy;
        }

        private Path sidecar() {
            return output.resolveSibling(output.getFileName() + ".paths.txt");
        }

        @Override
        void commit() {
            writer.commit();
            if (paths != null) {
                try {
                    paths.close();
                    Files.move(pathsTmp, sidecar().toAbsolutePath(), StandardCopyOption.ATOMIC_MOVE,
                            StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw new InvalidInputException(sidecar() + ": cannot write: " + e.getMessage(), e);
                }
                paths = null;
            }
        }

        @Override
        public void close() {
            writer.close();
            if (paths != null) {
                try {
                    paths.close();
                    Files.deleteIfExists(pathsTmp);
                } catch (IOException ignored) {
                    // a stray temporary file, named as one
                }
                paths = null;
            }
        }
    }

    /**
     * One JSON line per row, appended to {@code OUTPUT.partial} and flushed after every batch; the finished file is
     * renamed to {@code OUTPUT}. With {@code resume}, an earlier run's partial (or finished) file is continued: a
     * line cut by the interruption is dropped, and so is the last image when tiling (its tiles may be incomplete).
     */
    static final class Jsonl extends EmbedSink {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final Path output;
        private final Path partial;
        private final Set<String> done = new HashSet<>();
        private final BufferedWriter out;
        private long index;

        Jsonl(Path output, boolean resume, boolean tiled) {
            this.output = output;
            this.partial = partialFile(output);
            try {
                Path abs = output.toAbsolutePath();
                if (abs.getParent() != null) {
                    Files.createDirectories(abs.getParent());
                }
                if (resume) {
                    if (!Files.exists(partial) && Files.isRegularFile(output)) {
                        Files.move(output, partial, StandardCopyOption.ATOMIC_MOVE);
                    }
                    if (Files.exists(partial)) {
                        scan(tiled);
                    }
                    out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                            StandardOpenOption.APPEND);
                } else {
                    out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8);
                }
            } catch (IOException e) {
                throw new InvalidInputException(partial + ": cannot write: " + e.getMessage(), e);
            }
        }

        /** Reads the images already written and cuts the file after the last complete one. */
        private void scan(boolean tiled) throws IOException {
            byte[] all = Files.readAllBytes(partial);
            long keep = 0;
            long lastImageStart = 0;
            String lastImage = null;
            int start = 0;
            for (int i = 0; i < all.length; i++) {
                if (all[i] != '\n') {
                    continue;
                }
                String line = new String(all, start, i - start, StandardCharsets.UTF_8);
                JsonNode j;
                try {
                    j = JSON.readTree(line);
                } catch (IOException e) {
                    throw new InvalidInputException(partial + ": line at byte " + start + " is not JSON; this is not "
                            + "a file embed wrote, so --resume cannot continue it");
                }
                String image = j == null ? null : j.path("image").asText(null);
                if (image == null) {
                    throw new InvalidInputException(partial + ": line at byte " + start + " names no image; --resume "
                            + "continues runs over image files only");
                }
                if (!image.equals(lastImage)) {
                    lastImageStart = start;
                    lastImage = image;
                }
                done.add(image);
                index++;
                start = i + 1;
                keep = start;
            }
            if (tiled && lastImage != null) {
                done.remove(lastImage);
                keep = lastImageStart;
            }
            if (keep < all.length) {
                try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                    ch.truncate(keep);
                }
            }
        }

        @Override
        Set<String> done() {
            return done;
        }

        @Override
        boolean pooledIsTheEmbedding() {
            return true;
        }

        @Override
        void add(List<String> labels, List<Integer> tiles, HostTensor lastHidden, HostTensor pooled,
                 HostTensor embeds) {
            HostTensor e = embeds != null ? embeds : pooled;
            if (e == null) {
                throw new InvalidInputException("this model has no pooled output; write .safetensors to get "
                        + "last_hidden_state");
            }
            int rows = (int) e.dim(0);
            int cols = (int) (e.numel() / Math.max(1, rows));
            float[] v = e.floats();
            try {
                for (int r = 0; r < rows; r++) {
                    ObjectNode line = JSON.createObjectNode();
                    if (labels != null) {
                        line.put("image", labels.get(r));
                    } else {
                        line.put("index", index);
                    }
                    index++;
                    if (tiles != null) {
                        line.put("tile", tiles.get(r));
                    }
                    ArrayNode arr = line.putArray("embedding");
                    for (int c = 0; c < cols; c++) {
                        arr.add(v[r * cols + c]);
                    }
                    out.write(JSON.writeValueAsString(line));
                    out.write('\n');
                }
                out.flush();
            } catch (IOException ex) {
                throw new InvalidInputException(partial + ": cannot write: " + ex.getMessage(), ex);
            }
        }

        @Override
        void commit() {
            try {
                out.close();
                Files.move(partial, output, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new InvalidInputException(output + ": cannot write: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            try {
                out.close();
                if (Files.isRegularFile(partial) && Files.size(partial) == 0) {
                    Files.delete(partial); // nothing to resume
                }
            } catch (IOException ignored) {
                // what was flushed stays for --resume
            }
        }
    }
}
