package dev.visiontower.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * CLIP's byte-level BPE tokenizer, reproducing open_clip's {@code SimpleTokenizer}: text cleaning
 * ({@link TextCleaner}), the word-splitting pattern, bytes mapped to printable characters, BPE by merge rank with
 * an end-of-word marker, then {@code [sot] + ids + [eot]} zero-padded to the context length, a too-long sequence cut
 * with its last id replaced by end-of-text.
 */
public final class ClipTokenizer implements Tokenizer {
    /** The merges file open_clip ships, bundled as a resource. */
    static final String BUNDLED_MERGES = "bpe_simple_vocab_16e6.txt.gz";
    private static final int MERGES_USED = 49152 - 256 - 2;

    private final Map<String, Integer> encoder;
    private final Map<String, Integer> ranks;
    private final Pattern pattern;
    private final int sot;
    private final int eot;
    private final int contextLength;
    private final Map<String, String> cache = new ConcurrentHashMap<>();
    private static final String[] BYTE_CHARS = byteChars();

    ClipTokenizer(Map<String, Integer> encoder, List<String[]> merges, String sotText, String eotText,
                  int contextLength) {
        this.encoder = encoder;
        this.ranks = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            ranks.put(merges.get(i)[0] + " " + merges.get(i)[1], i);
        }
        Integer s = encoder.get(sotText);
        Integer e = encoder.get(eotText);
        if (s == null || e == null) {
            throw new CheckpointException("tokenizer vocabulary lacks " + sotText + " or " + eotText);
        }
        this.sot = s;
        this.eot = e;
        this.contextLength = contextLength;
        cache.put(sotText, sotText);
        cache.put(eotText, eotText);
        this.pattern = Pattern.compile(Pattern.quote(sotText) + "|" + Pattern.quote(eotText)
                        + "|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
                Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** open_clip's tokenizer with the bundled merges file (vocabulary 49408). */
    public static ClipTokenizer bundled(int contextLength) {
        try (InputStream in = ClipTokenizer.class.getResourceAsStream(BUNDLED_MERGES)) {
            if (in == null) {
                throw new IllegalStateException("bundled " + BUNDLED_MERGES + " is missing from the models-clip jar");
            }
            return fromMergesFile(new GZIPInputStream(in), contextLength);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read bundled " + BUNDLED_MERGES, e);
        }
    }

    /** From open_clip's merges file (first line a header, then {@code a b} per line). */
    static ClipTokenizer fromMergesFile(InputStream in, int contextLength) throws IOException {
        List<String[]> merges = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            r.readLine();
            String line;
            while ((line = r.readLine()) != null && merges.size() < MERGES_USED) {
                String[] pair = line.split(" ");
                if (pair.length == 2) {
                    merges.add(pair);
                }
            }
        }
        Map<String, Integer> encoder = new LinkedHashMap<>();
        List<String> order = vocabularyOrder();
        for (String c : order) {
            encoder.put(c, encoder.size());
        }
        for (String c : order) {
            encoder.put(c + "</w>", encoder.size());
        }
        for (String[] m : merges) {
            encoder.put(m[0] + m[1], encoder.size());
        }
        encoder.put("<start_of_text>", encoder.size());
        encoder.put("<end_of_text>", encoder.size());
        return new ClipTokenizer(encoder, merges, "<start_of_text>", "<end_of_text>", contextLength);
    }

    /** From a Hugging Face model directory: {@code vocab.json} + {@code merges.txt}, or {@code tokenizer.json}. */
    static ClipTokenizer fromHuggingFace(Path dir, int contextLength) {
        try {
            Map<String, Integer> encoder = new LinkedHashMap<>();
            List<String[]> merges = new ArrayList<>();
            Path vocab = dir.resolve("vocab.json");
            Path mergesFile = dir.resolve("merges.txt");
            Path source;
            if (Files.isRegularFile(vocab) && Files.isRegularFile(mergesFile)) {
                source = vocab;
                readVocabulary(Checkpoint.readJson(vocab), vocab, encoder);
                for (String line : Files.readAllLines(mergesFile, StandardCharsets.UTF_8)) {
                    String[] pair = line.split(" ");
                    if (!line.startsWith("#version") && pair.length == 2) {
                        merges.add(pair);
                    }
                }
            } else {
                source = dir.resolve("tokenizer.json");
                JsonNode model = Checkpoint.readJson(source).path("model");
                readVocabulary(model.path("vocab"), source, encoder);
                for (JsonNode m : model.path("merges")) {
                    String[] pair = m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()
                            ? new String[] {m.get(0).asText(), m.get(1).asText()}
                            : m.isTextual() ? m.asText().split(" ") : null;
                    if (pair == null || pair.length != 2) {
                        throw new CheckpointException(source + ": model.merges holds " + m + ", expected \"a b\" or "
                                + "[\"a\", \"b\"]");
                    }
                    merges.add(pair);
                }
            }
            return new ClipTokenizer(encoder, merges, "<|startoftext|>", "<|endoftext|>", contextLength);
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot read the tokenizer files: " + e.getMessage(), e);
        }
    }

    /** Vocabulary entries: every id an integer in int range, not negative. */
    private static void readVocabulary(JsonNode vocab, Path file, Map<String, Integer> encoder) {
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw new CheckpointException(file + ": the vocabulary must be a non-empty object of token -> id");
        }
        vocab.fields().forEachRemaining(e -> {
            JsonNode id = e.getValue();
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0) {
                throw new CheckpointException(file + ": token '" + e.getKey() + "' has id " + id
                        + ", expected a non-negative integer");
            }
            encoder.put(e.getKey(), id.asInt());
        });
    }

    /** Whether {@code dir} ships Hugging Face tokenizer files. */
    static boolean hasHuggingFaceFiles(Path dir) {
        return (Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt")))
                || Files.isRegularFile(dir.resolve("tokenizer.json"));
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public int specialTokens() {
        return 2;
    }

    public int startOfText() {
        return sot;
    }

    public int endOfText() {
        return eot;
    }

    @Override
    public long[] tokenize(String text) {
        String cleaned = TextCleaner.clean(text);
        List<Long> ids = new ArrayList<>();
        Matcher m = pattern.matcher(cleaned);
        while (m.find()) {
            byte[] bytes = m.group().getBytes(StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder();
            for (byte b : bytes) {
                sb.append(BYTE_CHARS[b & 0xff]);
            }
            for (String piece : bpe(sb.toString()).split(" ")) {
                Integer id = encoder.get(piece);
                if (id == null) {
                    // as Hugging Face's CLIP tokenizers: a piece without an id is the unknown token, <|endoftext|>
                    id = eot;
                }
                ids.add((long) id);
            }
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    @Override
    public Encoding encode(List<String> texts) {
        long[] ids = new long[texts.size() * contextLength];
        long[] mask = new long[ids.length];
        for (int row = 0; row < texts.size(); row++) {
            long[] body = tokenize(texts.get(row));
            int n = Math.min(body.length + 2, contextLength);
            int base = row * contextLength;
            ids[base] = sot;
            for (int i = 1; i < n; i++) {
                ids[base + i] = i - 1 < body.length ? body[i - 1] : eot;
            }
            ids[base + n - 1] = eot;
            for (int i = 0; i < n; i++) {
                mask[base + i] = 1;
            }
        }
        return new Encoding(HostTensor.ofLongs(ids, texts.size(), contextLength),
                HostTensor.ofLongs(mask, texts.size(), contextLength));
    }

    private String bpe(String token) {
        String cached = cache.get(token);
        if (cached != null) {
            return cached;
        }
        List<String> word = new ArrayList<>();
        int[] cps = token.codePoints().toArray();
        for (int i = 0; i < cps.length; i++) {
            String c = new String(Character.toChars(cps[i]));
            word.add(i == cps.length - 1 ? c + "</w>" : c);
        }
        while (word.size() > 1) {
            int best = Integer.MAX_VALUE;
            String first = null;
            String second = null;
            for (int i = 0; i < word.size() - 1; i++) {
                Integer r = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    first = word.get(i);
                    second = word.get(i + 1);
                }
            }
            if (first == null) {
                break;
            }
            List<String> merged = new ArrayList<>(word.size());
            for (int i = 0; i < word.size(); i++) {
                if (i < word.size() - 1 && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(word.get(i));
                }
            }
            word = merged;
        }
        String out = String.join(" ", word);
        cache.put(token, out);
        return out;
    }

    /** GPT-2's reversible map from bytes to printable characters. */
    private static String[] byteChars() {
        List<Integer> bs = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            bs.add(b);
        }
        for (int b = 0xa1; b <= 0xac; b++) {
            bs.add(b);
        }
        for (int b = 0xae; b <= 0xff; b++) {
            bs.add(b);
        }
        String[] out = new String[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (bs.contains(b)) {
                out[b] = new String(Character.toChars(b));
            } else {
                out[b] = new String(Character.toChars(256 + n));
                n++;
            }
        }
        return out;
    }

    /** The byte characters in the order the vocabulary lists them: printable bytes first, then the others. */
    private static List<String> vocabularyOrder() {
        List<String> printable = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            boolean isPrintable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
            (isPrintable ? printable : rest).add(BYTE_CHARS[b]);
        }
        printable.addAll(rest);
        return printable;
    }
}
