package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.Backend;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Models;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.checkpoint.Npy;
import dev.visiontower.api.checkpoint.SafetensorsWriter;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.spi.LoadOptions;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code visiontower embed}: image embeddings to a file. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Embed images (or a pixel_values tensor) with a vision tower.")
final class EmbedCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    static final class Input {
        @Option(names = "--pixels", paramLabel = "FILE",
                description = "float32 pixel_values [B,3,H,W] from .safetensors or .npy (skips preprocessing).")
        Path pixels;

        @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "PNG or JPEG files.")
        List<Path> images;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--output", required = true, paramLabel = "FILE",
            description = "Output: .safetensors (last_hidden_state, pooler_output, image_embeds), .npy "
                    + "(image_embeds) or .jsonl (one line per image).")
    Path output;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "16", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--interpolate-pos-encoding",
            description = "Accept inputs at another resolution by resampling the position embedding (bicubic).")
    boolean interpolate;

    @Option(names = "--normalize", description = "L2-normalise image_embeds.")
    boolean normalize;

    private enum Format { SAFETENSORS, NPY, JSONL }

    @Override
    public Integer call() throws IOException {
        if (batch < 1) {
            throw new InvalidInputException("--batch must be >= 1, got " + batch);
        }
        Format format = format(output);
        Path modelDir = common.modelDir();
        HostTensor pixels = input.pixels != null ? Inputs.readPixels(input.pixels) : null;
        List<Path> images = input.images;
        if (images != null) {
            for (Path p : images) {
                if (!Files.isRegularFile(p)) {
                    throw new InvalidInputException(p + ": no such image file");
                }
            }
        }
        long total = pixels != null ? pixels.dim(0) : images.size();
        var err = spec.commandLine().getErr();
        List<HostTensor> last = new ArrayList<>();
        List<HostTensor> pooled = new ArrayList<>();
        List<HostTensor> embeds = new ArrayList<>();
        try (Backend backend = common.openBackend();
             Models.LoadedVision loaded = Models.loadVision(modelDir, backend, LoadOptions.STRICT)) {
            err.println("model " + modelDir + " (" + loaded.format() + ") on " + backend.name() + "/"
                    + backend.device());
            Progress progress = total > batch ? new Progress(err, "embedded", total) : null;
            ForwardOptions opts = new ForwardOptions(interpolate, false);
            for (long start = 0; start < total; start += batch) {
                int n = (int) Math.min(batch, total - start);
                HostTensor x = pixels != null ? pixels.slice0(start, n)
                        : Inputs.preprocess(images.subList((int) start, (int) start + n), loaded.preprocessor());
                try (Tensor t = backend.fromHost(x); VisionOutput out = loaded.model().forward(t, opts)) {
                    last.add(out.lastHiddenState().toHost());
                    if (out.poolerOutput() != null) {
                        pooled.add(out.poolerOutput().toHost());
                    }
                    if (out.imageEmbeds() != null) {
                        embeds.add(out.imageEmbeds().toHost());
                    }
                }
                if (progress != null) {
                    progress.update(start + n);
                }
            }
            if (progress != null) {
                progress.finish();
            }
        }
        HostTensor embedding = !embeds.isEmpty() ? HostTensor.concat0(embeds)
                : !pooled.isEmpty() ? HostTensor.concat0(pooled) : null;
        if (embedding != null && normalize) {
            embedding = l2Normalize(embedding);
        }
        switch (format) {
            case SAFETENSORS: {
                Map<String, HostTensor> out = new LinkedHashMap<>();
                out.put("last_hidden_state", HostTensor.concat0(last));
                if (!pooled.isEmpty()) {
                    out.put("pooler_output", HostTensor.concat0(pooled));
                }
                if (!embeds.isEmpty()) {
                    out.put("image_embeds", embedding);
                }
                SafetensorsWriter.write(output, out, Map.of("producer", "visiontower embed",
                        "normalized", Boolean.toString(normalize)));
                break;
            }
            case NPY:
                Npy.write(output, requireEmbedding(embedding));
                break;
            case JSONL:
                writeJsonl(requireEmbedding(embedding), images);
                break;
            default:
                throw new AssertionError(format);
        }
        err.println("wrote " + total + " embedding(s) to " + output);
        return 0;
    }

    private HostTensor requireEmbedding(HostTensor e) {
        if (e == null) {
            throw new InvalidInputException("this model has no pooled output; write .safetensors to get "
                    + "last_hidden_state");
        }
        return e;
    }

    private static Format format(Path output) {
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

    static HostTensor l2Normalize(HostTensor t) {
        float[] v = t.floats().clone();
        int rows = (int) t.dim(0);
        int cols = (int) (t.numel() / Math.max(1, rows));
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) {
                s += (double) v[r * cols + c] * v[r * cols + c];
            }
            double norm = Math.max(Math.sqrt(s), 1e-12);
            for (int c = 0; c < cols; c++) {
                v[r * cols + c] = (float) (v[r * cols + c] / norm);
            }
        }
        return HostTensor.ofFloats(v, t.shape());
    }

    private void writeJsonl(HostTensor embedding, List<Path> images) throws IOException {
        ObjectMapper json = new ObjectMapper();
        int rows = (int) embedding.dim(0);
        int cols = (int) (embedding.numel() / Math.max(1, rows));
        float[] v = embedding.floats();
        Path abs = output.toAbsolutePath();
        if (abs.getParent() != null) {
            Files.createDirectories(abs.getParent());
        }
        Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName(), ".tmp");
        try {
            try (BufferedWriter w = Files.newBufferedWriter(tmp)) {
                for (int r = 0; r < rows; r++) {
                    ObjectNode line = json.createObjectNode();
                    if (images != null) {
                        line.put("image", images.get(r).toString());
                    } else {
                        line.put("index", r);
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
