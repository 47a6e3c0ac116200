package dev.visiontower.api.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model directory as the hub ships it: {@code config.json} (optional for open_clip layouts, which may carry
 * {@code open_clip_config.json}) and weights in {@code model.safetensors}, a sharded
 * {@code model.safetensors.index.json}, {@code open_clip_model.safetensors}, or a single other {@code .safetensors}
 * file. Tensors of every shard are visible under their own names.
 */
public final class Checkpoint implements TensorSource, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] SINGLE_FILES = {"model.safetensors", "open_clip_model.safetensors"};

    private final Path dir;
    private final List<Safetensors> files;
    private final Map<String, Safetensors> byName;
    private final Map<String, JsonNode> jsonCache = new LinkedHashMap<>();

    private Checkpoint(Path dir, List<Safetensors> files, Map<String, Safetensors> byName) {
        this.dir = dir;
        this.files = files;
        this.byName = byName;
    }

    /** Opens a model directory and validates the headers of all its weight files. */
    public static Checkpoint open(Path dir) {
        if (!Files.exists(dir)) {
            throw new InvalidInputException(dir + ": no such model directory");
        }
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException(dir + ": not a directory (pass the model directory holding config.json "
                    + "and model.safetensors)");
        }
        List<Path> weightFiles = weightFiles(dir);
        List<Safetensors> opened = new ArrayList<>();
        Map<String, Safetensors> byName = new LinkedHashMap<>();
        try {
            for (Path p : weightFiles) {
                Safetensors s = Safetensors.open(p);
                opened.add(s);
                for (String n : s.names()) {
                    Safetensors prev = byName.putIfAbsent(n, s);
                    if (prev != null) {
                        throw new CheckpointException(dir + ": tensor '" + n + "' appears in both "
                                + prev.path().getFileName() + " and " + p.getFileName());
                    }
                }
            }
        } catch (RuntimeException e) {
            opened.forEach(Safetensors::close);
            throw e;
        }
        return new Checkpoint(dir, opened, Collections.unmodifiableMap(byName));
    }

    private static List<Path> weightFiles(Path dir) {
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            JsonNode root = readJson(index);
            JsonNode map = root.get("weight_map");
            if (map == null || !map.isObject()) {
                throw new CheckpointException(index + ": missing weight_map object");
            }
            Set<Path> shards = new LinkedHashSet<>();
            for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
                Path shard = dir.resolve(it.next().asText()).normalize();
                if (!shard.startsWith(dir.normalize())) {
                    throw new CheckpointException(index + ": shard path escapes the model directory: " + shard);
                }
                shards.add(shard);
            }
            for (Path s : shards) {
                if (!Files.isRegularFile(s)) {
                    throw new CheckpointException(index + ": shard " + s.getFileName() + " is missing");
                }
            }
            return new ArrayList<>(shards);
        }
        for (String name : SINGLE_FILES) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                return List.of(p);
            }
        }
        List<Path> others = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
            for (Path p : ds) {
                if (!p.getFileName().toString().equals("io.safetensors")) {
                    others.add(p);
                }
            }
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot list: " + e.getMessage(), e);
        }
        if (others.size() == 1) {
            return others;
        }
        String hint = Files.exists(dir.resolve("pytorch_model.bin")) || Files.exists(dir.resolve("open_clip_pytorch_model.bin"))
                ? " (PyTorch pickle .bin weights are not read: convert them to safetensors)"
                : "";
        throw new CheckpointException(dir + ": no weights found: expected model.safetensors, "
                + "model.safetensors.index.json or open_clip_model.safetensors" + hint
                + (others.size() > 1 ? "; found several .safetensors files " + others : ""));
    }

    /**
     * Reads a JSON object from a file; a missing, unreadable or malformed file, or one holding something else than an
     * object, is a one-line {@link CheckpointException} naming the file (and the line and column of a syntax error).
     */
    public static JsonNode readJson(Path file) {
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new CheckpointException(file + ": expected a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            var at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            String why = String.valueOf(e.getOriginalMessage()).replaceAll("\\s*\\R\\s*", " ").strip();
            throw new CheckpointException(file + ": invalid JSON" + where + ": " + why, e);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** A JSON file of the directory, or null when absent. */
    public synchronized JsonNode json(String fileName) {
        if (jsonCache.containsKey(fileName)) {
            return jsonCache.get(fileName);
        }
        Path p = dir.resolve(fileName);
        JsonNode n = Files.isRegularFile(p) ? readJson(p) : null;
        jsonCache.put(fileName, n);
        return n;
    }

    /** {@code config.json}, or null when absent. */
    public JsonNode config() {
        return json("config.json");
    }

    /** The weight files, for messages. */
    public List<Path> weightFiles() {
        List<Path> out = new ArrayList<>();
        for (Safetensors s : files) {
            out.add(s.path());
        }
        return out;
    }

    @Override
    public Set<String> names() {
        return byName.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    @Override
    public HostTensor read(String name) {
        return file(name).read(name);
    }

    private Safetensors file(String name) {
        Safetensors s = byName.get(name);
        if (s == null) {
            throw new CheckpointException(dir + ": no tensor named '" + name + "'");
        }
        return s;
    }

    @Override
    public void close() {
        files.forEach(Safetensors::close);
    }
}
