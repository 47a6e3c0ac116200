package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.checkpoint.Npy;
import dev.visiontower.api.checkpoint.SafetensorsWriter;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionOutput;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

        @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files, directories (searched "
                + "recursively, sorted by path), @LIST (a file with one path per line) or - (paths on standard input).")
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

    @Option(names = "--tiles", paramLabel = "N", defaultValue = "1",
            description = "InternVL dynamic tiling: up to N tiles per image plus a thumbnail (default: no tiling).")
    int tiles;

    @Override
    public Integer call() throws IOException {
        if (batch < 1) {
            throw new InvalidInputException("--batch must be >= 1, got " + batch);
        }
        Outputs.Format format = Outputs.format(output);
        Path modelDir = common.modelDir();
        HostTensor pixels = input.pixels != null ? Inputs.readPixels(input.pixels) : null;
        List<Path> images = input.images == null ? null : Inputs.imageFiles(input.images, System.in);
        long total = pixels != null ? pixels.dim(0) : images.size();
        var err = spec.commandLine().getErr();
        List<HostTensor> last = new ArrayList<>();
        List<HostTensor> pooled = new ArrayList<>();
        List<HostTensor> embeds = new ArrayList<>();
        List<Integer> rowsPerImage = new ArrayList<>();
        try (Backend backend = common.openBackend(); DualEncoder model = DualEncoder.open(modelDir, backend)) {
            err.println("model " + model.describe());
            var preprocessor = model.preprocessor(new dev.visiontower.api.spi.PreprocessOptions(tiles));
            Progress progress = total > batch ? new Progress(err, "embedded", total) : null;
            ForwardOptions opts = new ForwardOptions(interpolate, false);
            for (long start = 0; start < total; start += batch) {
                int n = (int) Math.min(batch, total - start);
                HostTensor x = pixels != null ? pixels.slice0(start, n)
                        : Inputs.preprocess(images.subList((int) start, (int) start + n), preprocessor, rowsPerImage);
                try (Tensor t = backend.fromHost(x); VisionOutput out = model.vision().forward(t, opts)) {
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
            embedding = Outputs.l2Normalize(embedding);
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
            case JSONL: {
                HostTensor e = requireEmbedding(embedding);
                List<String> labels = null;
                List<Integer> tileIndex = null;
                if (images != null) {
                    labels = new ArrayList<>();
                    tileIndex = new ArrayList<>();
                    for (int i = 0; i < images.size(); i++) {
                        for (int t = 0; t < rowsPerImage.get(i); t++) {
                            labels.add(images.get(i).toString());
                            tileIndex.add(t);
                        }
                    }
                    if (rowsPerImage.stream().allMatch(r -> r == 1)) {
                        tileIndex = null;
                    }
                }
                Outputs.writeJsonl(output, e.reshape(e.dim(0), e.numel() / e.dim(0)), "image", labels,
                        "tile", tileIndex);
                break;
            }
            default:
                throw new AssertionError(format);
        }
        if (images != null && format != Outputs.Format.JSONL) { // .jsonl lines carry their path
            writeRowPaths(images, rowsPerImage);
        }
        err.println("wrote " + total + " embedding(s) to " + output);
        return 0;
    }

    /** {@code OUTPUT.paths.txt}: the image of every row, in order (with the tile index when tiling). */
    private void writeRowPaths(List<Path> images, List<Integer> rowsPerImage) throws IOException {
        StringBuilder sb = new StringBuilder();
        boolean tiled = rowsPerImage.stream().anyMatch(r -> r != 1);
        for (int i = 0; i < images.size(); i++) {
            for (int t = 0; t < rowsPerImage.get(i); t++) {
                sb.append(images.get(i)).append(tiled ? "\t" + t : "").append('\n');
            }
        }
        Path sidecar = output.resolveSibling(output.getFileName() + ".paths.txt");
        Path tmp = dev.visiontower.api.checkpoint.AtomicFiles.newSiblingFile(sidecar);
        Files.writeString(tmp, sb.toString());
        Files.move(tmp, sidecar, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private HostTensor requireEmbedding(HostTensor e) {
        if (e == null) {
            throw new InvalidInputException("this model has no pooled output; write .safetensors to get "
                    + "last_hidden_state");
        }
        return e;
    }
}
