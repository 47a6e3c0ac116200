package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.AtomicFiles;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

/** Output formats chosen by file extension. */
final class Outputs {
    private Outputs() {
    }

    enum Format { SAFETENSORS, NPY, JSONL }

    static Format format(Path output) {
        String n = output.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".safetensors")) {
            return Format.SAFETENSORS;
        }
        if (n.endsWith(".npy")) {
            return Format.NPY;
        }
        if (n.endsWith(".jsonl")) {
            return Format.JSONL;
        }
        throw new InvalidInputException(output + ": unknown output format, expected .safetensors, .npy or .jsonl");
    }

    /**
     * Refuses output holding NaN or infinity: with finite inputs (checked when read) it comes from the checkpoint,
     * whose weights or config overflow float32 arithmetic, so the error names the model directory.
     */
    static HostTensor requireFinite(HostTensor t, String what, Path modelDir) {
        if (t == null || t.dtype() != dev.visiontower.api.DType.FLOAT32) {
            return t;
        }
        float[] v = t.floats();
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) {
                throw new dev.visiontower.api.CheckpointException(modelDir + ": the model computed "
                        + (Float.isNaN(v[i]) ? "NaN" : "an infinity") + " in " + what + " (element " + i + " of "
                        + dev.visiontower.api.Shapes.format(t.shape()) + "): its weights or config values are out of "
                        + "the range float32 arithmetic holds");
            }
        }
        return t;
    }

    /**
     * One JSON line per row: {@code {key: label, [extraKey: extra], "embedding": [...]}}; written to a temporary file
     * and renamed into place.
     */
    static void writeJsonl(Path output, HostTensor embedding, String key, List<String> labels, String extraKey,
                           List<Integer> extra) throws IOException {
        ObjectMapper json = new ObjectMapper();
        int rows = (int) embedding.dim(0);
        int cols = (int) (embedding.numel() / Math.max(1, rows));
        float[] v = embedding.floats();
        Path abs = output.toAbsolutePath();
        if (abs.getParent() != null) {
            Files.createDirectories(abs.getParent());
        }
        Path tmp = AtomicFiles.newSiblingFile(abs);
        try {
            try (BufferedWriter w = Files.newBufferedWriter(tmp)) {
                for (int r = 0; r < rows; r++) {
                    ObjectNode line = json.createObjectNode();
                    if (labels != null) {
                        line.put(key, labels.get(r));
                    } else {
                        line.put("index", r);
                    }
                    if (extra != null) {
                        line.put(extraKey, extra.get(r));
                    }
                    ArrayNode arr = line.putArray("embedding");
                    for (int c = 0; c < cols; c++) {
                        arr.add(v[r * cols + c]);
                    }
                    w.write(json.writeValueAsString(line));
                    w.newLine();
                }
            }
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
