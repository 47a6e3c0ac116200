package dev.visiontower.cli;

import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.text.Encoding;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** {@code --text "..."...} or {@code --input-ids FILE}. */
final class TextInput {
    @Option(names = "--text", paramLabel = "TEXT", description = "Text to encode (repeat for several).")
    List<String> texts;

    @Option(names = "--input-ids", paramLabel = "FILE",
            description = "int64 input_ids [B, N] (and attention_mask if present) from .safetensors or .npy.")
    Path inputIds;

    Encoding encoding(DualEncoder model) {
        return inputIds != null ? Inputs.readInputIds(inputIds) : model.tokenizer().encode(texts);
    }
}
