package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.checkpoint.SafetensorsWriter;
import dev.visiontower.api.text.Encoding;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code visiontower score}: image-text similarity logits and the family's loss. */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Score images against texts: normalised embeddings, logits (with SigLIP's bias) and the family's "
                + "loss (image i paired with text i).")
final class ScoreCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ImageOptions imageOptions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    EmbedCommand.Input images;

    @ArgGroup(exclusive = true, multiplicity = "1")
    TextInput texts;

    @Option(names = "--output", required = true, paramLabel = "FILE.safetensors", description = "Output file.")
    Path output;

    @Option(names = "--interpolate-pos-encoding", description = "Accept images at another resolution.")
    boolean interpolate;

    @Override
    public Integer call() {
        if (Outputs.format(output) != Outputs.Format.SAFETENSORS) {
            throw new InvalidInputException(output + ": score writes .safetensors");
        }
        Map<String, HostTensor> out = new LinkedHashMap<>();
        try (Backend backend = common.openBackend(); DualEncoder model = DualEncoder.open(common.modelDir(), backend);
             TensorScope scope = backend.newScope()) {
            spec.commandLine().getErr().println("model " + model.describe());
            HostTensor px = images.pixels != null ? Inputs.readPixels(images.pixels) : Inputs.preprocess(images.images, model.preprocessor(),
                    imageOptions.load());
            Encoding enc = texts.encoding(model);
            Tensor img = model.imageEmbeddings(px, interpolate);
            Tensor txt = model.textEmbeddings(enc);
            Tensor logits = model.head().logitsPerImage(img, txt);
            out.put("image_embeds", img.toHost());
            out.put("text_embeds", txt.toHost());
            out.put("logits_per_image", logits.toHost());
            out.put("logits_per_text", backend.ops().permute(logits, 1, 0).toHost());
            if (img.dim(0) == txt.dim(0)) {
                out.put("loss", model.head().loss(img, txt).toHost());
            } else {
                spec.commandLine().getErr().println("no loss: " + img.dim(0) + " images and " + txt.dim(0)
                        + " texts cannot be paired");
            }
        }
        out.forEach((name, t) -> Outputs.requireFinite(t, name, common.modelDir()));
        SafetensorsWriter.write(output, out, Map.of("producer", "visiontower score"));
        spec.commandLine().getErr().println("wrote " + out.keySet() + " to " + output);
        return 0;
    }
}
