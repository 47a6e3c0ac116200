package dev.visiontower.cli;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Shapes;
import dev.visiontower.api.checkpoint.Npy;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.image.ImagePreprocessor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Reading the model inputs the commands accept. */
final class Inputs {
    private Inputs() {
    }

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
        long[] s = t.shape();
        if (s.length != 4 || s[1] != 3 || s[0] < 1) {
            throw new InvalidInputException(file + ": pixel_values must have shape [B, 3, H, W], got " + Shapes.format(s));
        }
        return t;
    }

    /** Decodes and preprocesses images; all must come out the same size. */
    static HostTensor preprocess(List<Path> images, ImagePreprocessor pre) {
        List<HostTensor> parts = new ArrayList<>();
        for (Path p : images) {
            HostTensor t = pre.apply(ImageDecoding.read(p));
            if (!parts.isEmpty() && !java.util.Arrays.equals(parts.get(0).shape(), t.shape())) {
                throw new InvalidInputException(p + ": preprocessed to " + Shapes.format(t.shape()) + " but earlier "
                        + "images gave " + Shapes.format(parts.get(0).shape()));
            }
            parts.add(t);
        }
        return HostTensor.concat0(parts);
    }
}
