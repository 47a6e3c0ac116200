package dev.visiontower.models.siglip;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A SigLIP text tokenizer read from a Hugging Face {@code tokenizer.json} (SigLIP 2 checkpoints ship Gemma's, with no
 * {@code spiece.model}), run by the Hugging Face tokenizers library itself (its Rust implementation through DJL's
 * binding, natives inside the jar). The text gets SigLIP's canonicalisation first (lower-cased, ASCII punctuation
 * removed, whitespace collapsed), applied between the end-of-text and unknown tokens written in it, which stay tokens
 * ({@code tokenizer_config.json}'s {@code eos_token}/{@code unk_token}, else {@code </s>}/{@code <unk>}); the file's own
 * normaliser, model and special-token template follow; the result is
 * truncated to the context length (special tokens kept) and padded with the pad token: {@code tokenizer_config.json}'s
 * {@code pad_token} if present, else {@code <pad>}, else the end-of-text token {@code </s>}. As with {@code spiece.model},
 * the model sees no attention mask (the mask returned marks the tokens for callers that want it).
 *
 * <p>DJL's optional usage reporting is switched off ({@code OPT_OUT_TRACKING=true}) and its CPU build of the library
 * is used ({@code RUST_FLAVOR=cpu}, also on CUDA machines) unless the user set these.
 */
final class SiglipJsonTokenizer implements Tokenizer {
    /**
     * One native tokenizer per file and context length, shared and kept for the life of the process (they are small
     * and immutable).
     */
    private static final Map<String, HuggingFaceTokenizer> LOADED = new ConcurrentHashMap<>();

    private final HuggingFaceTokenizer tokenizer;
    private final int contextLength;
    private final long padId;
    /** Special tokens written in a text stay tokens (as with {@code spiece.model}): end-of-text and unknown. */
    private final java.util.regex.Pattern special;

    private SiglipJsonTokenizer(HuggingFaceTokenizer tokenizer, int contextLength, long padId, List<String> special) {
        this.tokenizer = tokenizer;
        this.contextLength = contextLength;
        this.padId = padId;
        this.special = java.util.regex.Pattern.compile(special.stream().map(java.util.regex.Pattern::quote)
                .collect(java.util.stream.Collectors.joining("|")));
    }

    /** Reads {@code dir/tokenizer.json} (and {@code tokenizer_config.json} for the pad token, if present). */
    static SiglipJsonTokenizer load(Path dir, int contextLength) {
        Path file = dir.resolve("tokenizer.json").toAbsolutePath().normalize();
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file + ": not a readable tokenizer.json: " + e.getMessage(), e);
        }
        if (json == null || !json.path("model").isObject()) {
            throw new CheckpointException(file + ": not a Hugging Face tokenizer.json (no \"model\" object)");
        }
        JsonNode config = config(dir.resolve("tokenizer_config.json"));
        long padId = padId(json, config, file);
        List<String> special = new java.util.ArrayList<>();
        for (String key : new String[] {"eos_token", "unk_token"}) {
            String t = token(config, key);
            special.add(t != null ? t : key.equals("eos_token") ? "</s>" : "<unk>");
        }
        // DJL: no usage reporting, and the CPU build of the library (the only one in the jar; on a CUDA machine DJL
        // would otherwise look for a CUDA build and try to download it) unless the user decided otherwise
        defaultProperty("OPT_OUT_TRACKING", "true");
        defaultProperty("RUST_FLAVOR", "cpu");
        // truncation as Hugging Face does it: the text is cut, the template's special tokens are kept
        HuggingFaceTokenizer tok = LOADED.computeIfAbsent(file + "#" + contextLength, key -> {
            try {
                return HuggingFaceTokenizer.newInstance(file, Map.of("addSpecialTokens", "true", "padding", "false",
                        "truncation", "true", "maxLength", Integer.toString(contextLength)));
            } catch (IOException | RuntimeException e) {
                throw new CheckpointException(file + ": the tokenizers library cannot load it: " + e.getMessage(), e);
            }
        });
        return new SiglipJsonTokenizer(tok, contextLength, padId, special);
    }

    private static void defaultProperty(String key, String value) {
        if (System.getProperty(key) == null && System.getenv(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** {@code tokenizer_config.json}, or an empty object when the directory has none. */
    private static JsonNode config(Path file) {
        if (!Files.isRegularFile(file)) {
            return new ObjectMapper().createObjectNode();
        }
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new CheckpointException(file + ": not readable JSON: " + e.getMessage(), e);
        }
    }

    /** A token named in the config, written either as a string or as an object with {@code content}. */
    private static String token(JsonNode config, String key) {
        JsonNode p = config.path(key);
        return p.isTextual() ? p.asText() : p.path("content").isTextual() ? p.path("content").asText() : null;
    }

    private static long padId(JsonNode json, JsonNode config, Path file) {
        String pad = token(config, "pad_token");
        for (String candidate : pad != null ? List.of(pad) : List.of("<pad>", "</s>")) {
            for (JsonNode t : json.path("added_tokens")) {
                if (candidate.equals(t.path("content").asText())) {
                    return t.path("id").asLong();
                }
            }
        }
        throw new CheckpointException(file + ": no padding token found (looked for "
                + (pad != null ? "'" + pad + "' from tokenizer_config.json" : "<pad> and </s>")
                + " among the added tokens)");
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public int specialTokens() {
        return 1; // the end of sequence
    }

    /** The ids of the text without special tokens (truncated to the context length). */
    @Override
    public long[] tokenize(String text) {
        return tokenizer.encode(canonical(text), false, false).getIds();
    }

    /** SigLIP's canonicalisation of the text between the special tokens it contains. */
    private String canonical(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        java.util.regex.Matcher m = special.matcher(text);
        int last = 0;
        while (m.find()) {
            sb.append(SiglipTokenizer.canonicalize(text.substring(last, m.start()))).append(m.group());
            last = m.end();
        }
        return sb.append(SiglipTokenizer.canonicalize(text.substring(last))).toString();
    }

    @Override
    public Encoding encode(List<String> texts) {
        long[] ids = new long[texts.size() * contextLength];
        long[] mask = new long[ids.length];
        for (int row = 0; row < texts.size(); row++) {
            long[] t = tokenizer.encode(canonical(texts.get(row)), true, false).getIds();
            int base = row * contextLength;
            java.util.Arrays.fill(ids, base, base + contextLength, padId);
            System.arraycopy(t, 0, ids, base, t.length);
            java.util.Arrays.fill(mask, base, base + t.length, 1);
        }
        return new Encoding(HostTensor.ofLongs(ids, texts.size(), contextLength),
                HostTensor.ofLongs(mask, texts.size(), contextLength));
    }
}
