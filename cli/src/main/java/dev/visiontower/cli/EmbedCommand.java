package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.image.PreprocessingPipeline;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionOutput;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
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

    @Mixin
    ImageOptions imageOptions;

    @Option(names = "--skip-bad", description = "Report an unreadable image (path and reason) and go on without it, "
            + "instead of stopping with exit 2.")
    boolean skipBad;

    @Option(names = "--resume", description = "Continue an interrupted .jsonl run (from OUTPUT.partial, or add to a "
            + "finished OUTPUT) without embedding again the images it already holds.")
    boolean resume;

    @Option(names = "--decode-threads", paramLabel = "N",
            description = "Threads decoding and preprocessing images ahead of the forward pass (default: half the "
                    + "processors, at least 1).")
    Integer decodeThreads;

    @Override
    public Integer call() {
        if (batch < 1) {
            throw new InvalidInputException("--batch must be >= 1, got " + batch);
        }
        int threads = decodeThreads != null ? decodeThreads : PreprocessingPipeline.defaultThreads();
        if (threads < 1) {
            throw new InvalidInputException("--decode-threads must be >= 1, got " + threads);
        }
        Outputs.Format format = Outputs.format(output);
        if (resume && (format != Outputs.Format.JSONL || input.images == null)) {
            throw new InvalidInputException("--resume continues .jsonl output of image files; " + output
                    + (input.images == null ? " is written from --pixels" : " is not .jsonl"));
        }
        Path modelDir = common.modelDir();
        HostTensor pixels = input.pixels != null ? Inputs.readPixels(input.pixels) : null;
        List<Path> images = input.images == null ? null : Inputs.imageFiles(input.images, System.in);
        var err = spec.commandLine().getErr();
        ForwardOptions opts = new ForwardOptions(interpolate, false);
        long written = 0;
        int skipped = 0;
        try (Backend backend = common.openBackend(); DualEncoder model = DualEncoder.open(modelDir, backend);
             EmbedSink sink = format == Outputs.Format.JSONL ? new EmbedSink.Jsonl(output, resume, tiles > 1)
                     : new EmbedSink.Tensors(output, format == Outputs.Format.NPY, Map.of("producer",
                     "visiontower embed", "normalized", Boolean.toString(normalize)))) {
            err.println("model " + model.describe());
            if (pixels != null) {
                Progress progress = pixels.dim(0) > batch ? new Progress(err, "embedded", pixels.dim(0)) : null;
                for (long start = 0; start < pixels.dim(0); start += batch) {
                    int n = (int) Math.min(batch, pixels.dim(0) - start);
                    written += forward(backend, model, opts, pixels.slice0(start, n), null, null, sink);
                    if (progress != null) {
                        progress.update(start + n);
                    }
                }
                if (progress != null) {
                    progress.finish();
                }
            } else {
                if (!sink.done().isEmpty()) {
                    int before = images.size();
                    images = images.stream().filter(p -> !sink.done().contains(p.toString())).toList();
                    err.println("resuming: " + (before - images.size()) + " of " + before + " images already in "
                            + EmbedSink.partialFile(output));
                }
                var preprocessor = model.preprocessor(new dev.visiontower.api.spi.PreprocessOptions(tiles));
                Progress progress = images.size() > batch ? new Progress(err, "embedded", images.size()) : null;
                long seen = 0;
                try (PreprocessingPipeline pipeline = new PreprocessingPipeline(images, preprocessor,
                        imageOptions.load(), threads, batch)) {
                    while (pipeline.hasNext()) {
                        List<PreprocessingPipeline.Item> items = pipeline.next();
                        List<HostTensor> parts = new ArrayList<>();
                        List<String> labels = new ArrayList<>();
                        List<Integer> tileIndex = new ArrayList<>();
                        for (PreprocessingPipeline.Item item : items) {
                            if (!item.ok()) {
                                if (!skipBad) {
                                    throw stop(item.error(), format);
                                }
                                skipped++;
                                err.println("skipped " + item.error().getMessage());
                                continue;
                            }
                            HostTensor px = item.pixels();
                            Inputs.requireSameSize(item.path(), parts.isEmpty() ? null : parts.get(0), px);
                            parts.add(px);
                            for (int t = 0; t < px.dim(0); t++) {
                                labels.add(item.path().toString());
                                tileIndex.add(t);
                            }
                        }
                        if (!parts.isEmpty()) {
                            written += forward(backend, model, opts, HostTensor.concat0(parts), labels,
                                    tiles > 1 ? tileIndex : null, sink);
                        }
                        seen += items.size();
                        if (progress != null) {
                            progress.update(seen);
                        }
                    }
                }
                if (progress != null) {
                    progress.finish();
                }
                if (written == 0 && sink.done().isEmpty()) {
                    throw new InvalidInputException("no image could be read (" + skipped + " skipped); nothing "
                            + "written to " + output);
                }
            }
            if (written > 0 || !sink.done().isEmpty()) {
                sink.commit();
            }
        }
        err.println("wrote " + written + " embedding(s) to " + output + (skipped > 0 ? "; skipped " + skipped
                + " unreadable image(s)" : ""));
        return 0;
    }

    /** One forward pass; returns the rows written. */
    private long forward(Backend backend, DualEncoder model, ForwardOptions opts, HostTensor x, List<String> labels,
                         List<Integer> tileIndex, EmbedSink sink) {
        try (Tensor t = backend.fromHost(x); VisionOutput out = model.vision().forward(t, opts)) {
            Path dir = model.dir();
            HostTensor embeds = out.imageEmbeds() != null
                    ? Outputs.requireFinite(out.imageEmbeds().toHost(), "image_embeds", dir) : null;
            HostTensor pooled = out.poolerOutput() != null
                    ? Outputs.requireFinite(out.poolerOutput().toHost(), "pooler_output", dir) : null;
            if (normalize && embeds != null) {
                embeds = embeds.l2NormalizeRows();
            } else if (normalize && pooled != null && sink.pooledIsTheEmbedding()) {
                pooled = pooled.l2NormalizeRows();
            }
            // the hidden states are [rows, tokens, width]: downloaded only where they are written
            sink.add(labels, tileIndex, sink.pooledIsTheEmbedding() ? null
                    : Outputs.requireFinite(out.lastHiddenState().toHost(), "last_hidden_state", dir), pooled, embeds);
            return x.dim(0);
        }
    }

    private InvalidInputException stop(InvalidInputException cause, Outputs.Format format) {
        String kept = format == Outputs.Format.JSONL ? "; the images embedded before it are kept in "
                + EmbedSink.partialFile(output) + " (rerun with --resume to continue)" : "; nothing was written";
        return new InvalidInputException(cause.getMessage() + kept + " (--skip-bad skips unreadable images)", cause);
    }
}
