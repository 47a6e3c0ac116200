package dev.visiontower.api.train;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.AtomicFiles;
import dev.visiontower.api.checkpoint.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a model directory so that a crash never leaves a half-written one: everything goes to a sibling temporary
 * directory, which then replaces the target by renames.
 */
public final class CheckpointWriter {
    /** Side files a model directory may carry (configs, tokenizer files), copied from the source model. */
    public static final List<String> SIDE_FILES = List.of("config.json", "preprocessor_config.json",
            "open_clip_config.json", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "spiece.model", "README.md");

    /** Written last into a new checkpoint's scratch directory: the directory is complete. */
    static final String COMPLETE = ".complete";

    private CheckpointWriter() {
    }

    /**
     * Writes {@code model.safetensors} from {@code weights}, the side files of {@code like}, and {@code extra} files
     * (name to bytes), replacing {@code dir} atomically as a whole.
     */
    public static void write(Path dir, Path like, Map<String, HostTensor> weights, Map<String, byte[]> extra) {
        write(dir, like, List.of(), weights, extra);
    }

    /**
     * As {@link #write(Path, Path, Map, Map)}, also copying the files {@code sideFiles} names (a family's own
     * tokenizer or config files, see {@link dev.visiontower.api.spi.ModelDefinition#files()}).
     */
    public static void write(Path dir, Path like, List<String> sideFiles, Map<String, HostTensor> weights,
                             Map<String, byte[]> extra) {
        Path abs = dir.toAbsolutePath();
        try {
            Files.createDirectories(abs.getParent());
            recover(abs);
            Path tmp = AtomicFiles.newSiblingDirectory(abs);
            try {
                java.util.Set<String> copy = new java.util.LinkedHashSet<>(SIDE_FILES);
                copy.addAll(sideFiles);
                for (String f : copy) {
                    Path src = like.resolve(f);
                    if (Files.isRegularFile(src) && !extra.containsKey(f)) {
                        Files.copy(src, tmp.resolve(f));
                    }
                }
                for (Map.Entry<String, byte[]> e : extra.entrySet()) {
                    Files.write(tmp.resolve(e.getKey()), e.getValue());
                }
                SafetensorsWriter.write(tmp.resolve("model.safetensors"), weights, Map.of("producer", "visiontower"));
                Files.write(tmp.resolve(COMPLETE), new byte[0]); // last: what recover() trusts
                Path old = oldSibling(abs);
                deleteTree(old);
                if (Files.exists(abs)) {
                    Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
                }
                // a kill here leaves no abs, a complete tmp and the previous checkpoint in old: recover() finishes
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
                Files.deleteIfExists(abs.resolve(COMPLETE));
                deleteTree(old);
            } finally {
                deleteTree(tmp);
            }
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot write the checkpoint: " + e.getMessage(), e);
        }
    }

    /**
     * Finishes or undoes a replacement of {@code dir} that a crash interrupted, and removes what such a crash left
     * beside it: with {@code dir} missing, a completely written new checkpoint takes its place, else the previous
     * one comes back; then stale scratch directories go. Safe to call at any time (a no-op when nothing was
     * interrupted); {@link #write} and training runs call it first.
     */
    public static void recover(Path dir) {
        Path abs = dir.toAbsolutePath();
        Path parent = abs.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            return;
        }
        try {
            List<Path> scratch = new java.util.ArrayList<>();
            String prefix = "." + abs.getFileName() + ".";
            try (Stream<Path> s = Files.list(parent)) {
                s.filter(p -> {
                    String n = p.getFileName().toString();
                    return n.startsWith(prefix) && n.endsWith(".tmp") && Files.isDirectory(p);
                }).forEach(scratch::add);
            }
            Path old = oldSibling(abs);
            if (!Files.exists(abs)) {
                Path done = scratch.stream().filter(p -> Files.isRegularFile(p.resolve(COMPLETE))).findFirst()
                        .orElse(null);
                if (done != null) {
                    Files.move(done, abs, StandardCopyOption.ATOMIC_MOVE);
                    Files.deleteIfExists(abs.resolve(COMPLETE));
                    scratch.remove(done);
                } else if (Files.isDirectory(old)) {
                    Files.move(old, abs, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            for (Path p : scratch) {
                deleteTree(p);
            }
            if (Files.exists(abs)) {
                deleteTree(old);
            }
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot recover from an interrupted write: " + e.getMessage(), e);
        }
    }

    private static Path oldSibling(Path abs) {
        return abs.resolveSibling("." + abs.getFileName() + ".old");
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(x);
            }
        }
    }
}
