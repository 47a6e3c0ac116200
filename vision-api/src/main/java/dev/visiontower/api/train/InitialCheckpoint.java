package dev.visiontower.api.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.SafetensorsWriter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The scaffolding a model family uses to create a checkpoint for training from scratch: a scratch directory holding
 * the final {@code config.json} and a marker checkpoint (one-element tensors under the names that let the family's
 * own readers recognise the layout), so the architecture is read exactly as it will be when the new checkpoint is
 * loaded; then {@link #write} puts the real weights and the config into the target directory (replacing it only once
 * everything is written). Closing removes the scratch directory.
 */
public final class InitialCheckpoint implements AutoCloseable {
    private final Path dir;
    private final Path scratch;
    private final byte[] config;

    private InitialCheckpoint(Path dir, Path scratch, byte[] config) {
        this.dir = dir;
        this.scratch = scratch;
        this.config = config;
    }

    /**
     * @param dir           where the checkpoint will be written
     * @param config        the complete {@code config.json}
     * @param markerTensors tensor names whose presence identifies the family's layout
     */
    public static InitialCheckpoint prepare(Path dir, ObjectNode config, String... markerTensors) {
        try {
            byte[] bytes = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(config)
                    .getBytes(StandardCharsets.UTF_8);
            Path scratch = Files.createTempDirectory("visiontower-init");
            Files.write(scratch.resolve("config.json"), bytes);
            Map<String, HostTensor> marker = new LinkedHashMap<>();
            for (String name : markerTensors) {
                marker.put(name, HostTensor.ofFloats(new float[1], 1));
            }
            SafetensorsWriter.write(scratch.resolve("model.safetensors"), marker, Map.of());
            return new InitialCheckpoint(dir, scratch, bytes);
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot prepare the model: " + e.getMessage(), e);
        }
    }

    /** The scratch directory: open it as a {@link dev.visiontower.api.checkpoint.Checkpoint} to read the config. */
    public Path scratch() {
        return scratch;
    }

    /** Writes {@code weights} (checkpoint names) and the config into the target directory. */
    public void write(Map<String, HostTensor> weights) {
        CheckpointWriter.write(dir, scratch, weights, Map.of("config.json", config));
    }

    @Override
    public void close() {
        try (var files = Files.walk(scratch)) {
            for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a leftover temporary directory is harmless
        }
    }
}
