package dev.visiontower.api.train;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.checkpoint.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW's state saved beside a checkpoint ({@code optimizer.safetensors}): per parameter {@code NAME.m},
 * {@code NAME.v} (float32 moments) and {@code NAME.step} (int64), so a run resumes where it stopped.
 */
public final class OptimizerState {
    /** The file name in a run's output directory. */
    public static final String FILE = "optimizer.safetensors";

    private OptimizerState() {
    }

    /** The state of every parameter of {@code model} as the bytes of a safetensors file. */
    public static byte[] toBytes(TrainableDualEncoder model, ContrastiveTrainer trainer) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (TrainableParameter p : model.parameters()) {
            AdamW a = trainer.optimizerState().get(p.name());
            long n = a.firstMoment().length;
            out.put(p.name() + ".m", HostTensor.ofFloats(a.firstMoment(), n));
            out.put(p.name() + ".v", HostTensor.ofFloats(a.secondMoment(), n));
            out.put(p.name() + ".step", HostTensor.ofLongs(new long[] {a.step()}, 1));
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile("optimizer", ".safetensors");
            SafetensorsWriter.write(tmp, out, Map.of("optimizer", "AdamW"));
            return Files.readAllBytes(tmp);
        } catch (IOException e) {
            throw new InvalidInputException("cannot write the optimizer state: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // a leftover temporary file is harmless
                }
            }
        }
    }

    /** Reads a state written by {@link #toBytes}, by parameter name. */
    public static Map<String, AdamW> read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": no optimizer state to resume from");
        }
        Map<String, AdamW> out = new LinkedHashMap<>();
        try (Safetensors s = Safetensors.open(file)) {
            for (String n : s.names()) {
                if (n.endsWith(".m")) {
                    String p = n.substring(0, n.length() - 2);
                    if (!s.names().contains(p + ".v") || !s.names().contains(p + ".step")) {
                        throw new InvalidInputException(file + ": " + p + " has a first moment but no "
                                + (s.names().contains(p + ".v") ? p + ".step" : p + ".v"));
                    }
                    out.put(p, new AdamW(s.read(p + ".m").floats(), s.read(p + ".v").floats(),
                            (int) s.read(p + ".step").longs()[0]));
                }
            }
        }
        return out;
    }
}
