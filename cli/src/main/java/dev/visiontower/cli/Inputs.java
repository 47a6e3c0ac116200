package dev.visiontower.cli;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.checkpoint.Npy;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.image.PreprocessingPipeline;
import dev.visiontower.api.image.ImageLoadOptions;
import dev.visiontower.api.image.ImagePreprocessor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Reading the model inputs the commands accept. */
final class Inputs {
    private Inputs() {
    }

    /** File name endings taken as images when a directory is given. */
    static final List<String> IMAGE_EXTENSIONS = List.of(".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif",
            ".tiff");

    /**
     * The image files named by the command line: files as given, directories searched recursively for image files
     * (by extension, sorted by path), and {@code -} for paths read from standard input, one per line ({@code @FILE}
     * arguments, one path per line, are expanded by the command-line parser).
     */
    static List<Path> imageFiles(List<Path> args, java.io.InputStream stdin) {
        List<Path> out = new java.util.ArrayList<>();
        for (Path a : args) {
            if (a.toString().equals("-")) {
                try {
                    java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(stdin,
                            java.nio.charset.StandardCharsets.UTF_8));
                    for (String line = r.readLine(); line != null; line = r.readLine()) {
                        if (!line.isBlank()) {
                            out.add(requireFile(Path.of(line.strip())));
                        }
                    }
                } catch (IOException e) {
                    throw new InvalidInputException("cannot read image paths from standard input: " + e.getMessage(), e);
                }
            } else if (Files.isDirectory(a)) {
                List<Path> found = new java.util.ArrayList<>();
                try (java.util.stream.Stream<Path> walk = Files.walk(a)) {
                    walk.filter(Files::isRegularFile).filter(f -> {
                        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
                        return IMAGE_EXTENSIONS.stream().anyMatch(n::endsWith);
                    }).sorted().forEach(found::add);
                } catch (IOException | java.io.UncheckedIOException e) {
                    throw new InvalidInputException(a + ": cannot list the directory: " + e.getMessage(), e);
                }
                if (found.isEmpty()) {
                    throw new InvalidInputException(a + ": no image files in this directory (looked for "
                            + String.join(", ", IMAGE_EXTENSIONS) + ")");
                }
                out.addAll(found);
            } else {
                out.add(requireFile(a));
            }
        }
        if (out.isEmpty()) {
            throw new InvalidInputException("no images given");
        }
        return out;
    }

    private static Path requireFile(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new InvalidInputException(p + ": no such image file");
        }
        return p;
    }

    /** The largest magnitude accepted in {@code --pixels}: normalised 8-bit pixels lie within a few units of 0. */
    static final float MAX_PIXEL_MAGNITUDE = 1e4f;

    /** Reads a float32 {@code [B, 3, H, W]} tensor named {@code pixel_values} from .safetensors or .npy. */
    static HostTensor readPixels(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": no such file");
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        HostTensor t;
        if (name.endsWith(".safetensors")) {
            try (Safetensors s = Safetensors.open(file)) {
                if (!s.contains("pixel_values")) {
                    throw new InvalidInputException(file + ": no tensor named 'pixel_values' (found " + s.names() + ")");
                }
                t = s.read("pixel_values");
            }
        } else if (name.endsWith(".npy")) {
            t = Npy.read(file);
        } else {
            throw new InvalidInputException(file + ": unsupported pixel file, expected .safetensors or .npy");
        }
        if (t.dtype() != dev.visiontower.api.DType.FLOAT32) {
            throw new InvalidInputException(file + ": pixel_values must be floating point, got " + t.dtype());
        }
        float[] v = t.floats();
        for (int i = 0; i < v.length; i++) {
            if (!(Math.abs(v[i]) <= MAX_PIXEL_MAGNITUDE)) {
                throw new InvalidInputException(file + ": pixel_values holds " + v[i] + " at element " + i
                        + " (normalised pixels are finite and within +-" + (int) MAX_PIXEL_MAGNITUDE + ")");
            }
        }
        long[] s = t.shape();
        if (s.length != 4 || s[1] != 3 || s[0] < 1) {
            throw new InvalidInputException(file + ": pixel_values must have shape [B, 3, H, W], got " + Shapes.format(s));
        }
        return t;
    }

    /** Reads int64 {@code input_ids} (and {@code attention_mask} when present) from .safetensors or .npy. */
    static dev.visiontower.api.text.Encoding readInputIds(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": no such file");
        }
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        HostTensor ids;
        HostTensor mask = null;
        if (name.endsWith(".safetensors")) {
            try (Safetensors s = Safetensors.open(file)) {
                if (!s.contains("input_ids")) {
                    throw new InvalidInputException(file + ": no tensor named 'input_ids' (found " + s.names() + ")");
                }
                ids = s.read("input_ids");
                if (s.contains("attention_mask")) {
                    mask = s.read("attention_mask");
                }
            }
        } else if (name.endsWith(".npy")) {
            ids = Npy.read(file);
        } else {
            throw new InvalidInputException(file + ": unsupported input-ids file, expected .safetensors or .npy");
        }
        if (ids.dtype() != dev.visiontower.api.DType.INT64 || ids.rank() != 2) {
            throw new InvalidInputException(file + ": input_ids must be int64 [B, N], got " + ids.dtype()
                    + Shapes.format(ids.shape()));
        }
        if (mask != null && (mask.dtype() != dev.visiontower.api.DType.INT64
                || !java.util.Arrays.equals(mask.shape(), ids.shape()))) {
            throw new InvalidInputException(file + ": attention_mask must be int64 " + Shapes.format(ids.shape())
                    + ", got " + mask.dtype() + Shapes.format(mask.shape()));
        }
        return new dev.visiontower.api.text.Encoding(ids, mask);
    }

    /**
     * Decodes and preprocesses images (on {@link PreprocessingPipeline}'s threads); all must come out the same size.
     * The first image that cannot be read stops it, named.
     */
    static HostTensor preprocess(List<Path> images, ImagePreprocessor pre, ImageLoadOptions load) {
        List<HostTensor> parts = new ArrayList<>();
        try (PreprocessingPipeline pipeline = new PreprocessingPipeline(images, pre, load,
                PreprocessingPipeline.defaultThreads(), Math.max(1, images.size()))) {
            while (pipeline.hasNext()) {
                for (PreprocessingPipeline.Item item : pipeline.next()) {
                    if (!item.ok()) {
                        throw item.error();
                    }
                    requireSameSize(item.path(), parts.isEmpty() ? null : parts.get(0), item.pixels());
                    parts.add(item.pixels());
                }
            }
        }
        return HostTensor.concat0(parts);
    }

    /** Refuses an image that preprocessed to another size than the first one of its batch. */
    static void requireSameSize(Path image, HostTensor first, HostTensor pixels) {
        if (first != null && !java.util.Arrays.equals(first.shape(), 1, 4, pixels.shape(), 1, 4)) {
            throw new InvalidInputException(image + ": preprocessed to " + Shapes.format(pixels.shape())
                    + " but earlier images gave " + Shapes.format(first.shape()));
        }
    }
}
