package dev.visiontower.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Models;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.spi.ModelFamilyProvider;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code visiontower tokenize}: token ids padded to the context length. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print token ids (padded to the context length) for texts.")
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    static final class Source {
        @Option(names = "--model", paramLabel = "DIR", description = "Use this checkpoint's tokenizer.")
        Path model;

        @Option(names = "--family", paramLabel = "NAME",
                description = "Use a family's standard tokenizer (clip: the bundled open_clip merges).")
        String family;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "Text (repeat for several).")
    List<String> texts;

    @Option(names = "--json", description = "Print a JSON list of {text, input_ids}.")
    boolean json;

    @Mixin
    VerboseOption verbose;

    @Override
    public Integer call() throws Exception {
        Tokenizer tok;
        if (source.model != null) {
            try (Checkpoint c = Checkpoint.open(source.model)) {
                tok = Models.detect(c).definition().tokenizer().orElseThrow(() -> new InvalidInputException(
                        source.model + ": no tokenizer for this checkpoint"));
            }
        } else {
            ModelFamilyProvider f = Models.family(source.family);
            tok = f.defaultTokenizer().orElseThrow(() -> new InvalidInputException("the " + f.name()
                    + " family has no standard tokenizer without a checkpoint; use --model DIR"));
        }
        Encoding enc = tok.encode(texts);
        long[] ids = enc.inputIds().longs();
        int len = tok.contextLength();
        var out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("text", texts.get(i));
            r.put("input_ids", Arrays.copyOfRange(ids, i * len, (i + 1) * len));
            rows.add(r);
        }
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
        } else {
            for (Map<String, Object> r : rows) {
                out.println(r.get("text"));
                out.println("  " + Arrays.toString((long[]) r.get("input_ids")));
            }
        }
        return 0;
    }
}
