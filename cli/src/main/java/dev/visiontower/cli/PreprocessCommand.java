package dev.visiontower.cli;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Models;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.SafetensorsWriter;
import dev.visiontower.api.image.ImagePreprocessor;
import dev.visiontower.api.spi.PreprocessOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code visiontower preprocess}: images to the model's {@code pixel_values}. */
@Command(name = "preprocess", mixinStandardHelpOptions = true,
        description = "Decode and preprocess images exactly as the model expects; write pixel_values.")
final class PreprocessCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ImageOptions imageOptions;

    @Option(names = "--output", required = true, paramLabel = "FILE.safetensors", description = "Output file.")
    Path output;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files (JPEG, PNG, WebP, GIF, BMP, TIFF).")
    List<Path> images;

    @Option(names = "--tiles", paramLabel = "N", defaultValue = "1",
            description = "InternVL dynamic tiling: up to N tiles per image plus a thumbnail (default: no tiling).")
    int tiles;

    @Override
    public Integer call() {
        if (!output.getFileName().toString().endsWith(".safetensors")) {
            throw new InvalidInputException(output + ": preprocess writes .safetensors");
        }
        ImagePreprocessor pre;
        try (Checkpoint ckpt = Checkpoint.open(common.modelDir())) {
            pre = Models.detect(ckpt).definition().preprocessor(new PreprocessOptions(tiles));
        }
        HostTensor pixels = Inputs.preprocess(images, pre, imageOptions.load());
        Map<String, HostTensor> out = new LinkedHashMap<>();
        out.put("pixel_values", pixels);
        SafetensorsWriter.write(output, out, Map.of("producer", "visiontower preprocess"));
        spec.commandLine().getErr().println("wrote pixel_values " + java.util.Arrays.toString(pixels.shape())
                + " to " + output);
        return 0;
    }
}
