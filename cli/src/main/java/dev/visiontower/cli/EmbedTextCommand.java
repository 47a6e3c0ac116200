package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.checkpoint.Npy;
import dev.visiontower.api.checkpoint.SafetensorsWriter;
import dev.visiontower.api.nn.TextOutput;
import dev.visiontower.api.text.Encoding;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code visiontower embed-text}: text embeddings to a file. */
@Command(name = "embed-text", mixinStandardHelpOptions = true, description = "Embed texts with a text tower.")
final class EmbedTextCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @ArgGroup(exclusive = true, multiplicity = "1")
    TextInput input;

    @Option(names = "--output", required = true, paramLabel = "FILE",
            description = "Output: .safetensors (text_embeds, pooler_output, last_hidden_state), .npy (text_embeds) "
                    + "or .jsonl (one line per text).")
    Path output;

    @Option(names = "--normalize", description = "L2-normalise text_embeds.")
    boolean normalize;

    @Override
    public Integer call() throws IOException {
        Outputs.Format format = Outputs.format(output);
        HostTensor embeds;
        HostTensor pooled;
        HostTensor last;
        try (Backend backend = common.openBackend(); DualEncoder model = DualEncoder.open(common.modelDir(), backend);
             TensorScope scope = backend.newScope()) {
            spec.commandLine().getErr().println("model " + model.describe());
            Encoding enc = input.encoding(model);
            TextOutput out = model.textOutputs(enc);
            embeds = Outputs.requireFinite(out.embedding().toHost(), "text_embeds", common.modelDir());
            pooled = Outputs.requireFinite(out.pooled().toHost(), "pooler_output", common.modelDir());
            last = Outputs.requireFinite(out.lastHiddenState().toHost(), "last_hidden_state", common.modelDir());
        }
        if (normalize) {
            embeds = embeds.l2NormalizeRows();
        }
        switch (format) {
            case SAFETENSORS: {
                Map<String, HostTensor> m = new LinkedHashMap<>();
                m.put("text_embeds", embeds);
                m.put("pooler_output", pooled);
                m.put("last_hidden_state", last);
                SafetensorsWriter.write(output, m, Map.of("producer", "visiontower embed-text",
                        "normalized", Boolean.toString(normalize)));
                break;
            }
            case NPY:
                Npy.write(output, embeds);
                break;
            case JSONL:
                if (input.texts == null) {
                    throw new InvalidInputException(output + ": .jsonl output needs --text (it names each line's text)");
                }
                Outputs.writeJsonl(output, embeds, "text", input.texts, null, null);
                break;
            default:
                throw new AssertionError(format);
        }
        spec.commandLine().getErr().println("wrote " + embeds.dim(0) + " text embedding(s) to " + output);
        return 0;
    }
}
