package dev.visiontower.conformance.plugin;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The example family's tokenizer: one id per lower-cased word ({@code vocab.txt}, one word per line; ids 0, 1, 2 are
 * padding, end-of-text and unknown), end-of-text after the words, padded with padding.
 */
final class WordTokenizer implements Tokenizer {
    static final String FILE = "vocab.txt";
    static final int PAD = 0;
    static final int EOS = 1;
    static final int UNK = 2;
    private static final List<String> SPECIAL = List.of("<pad>", "<eos>", "<unk>");

    private final Map<String, Integer> ids = new LinkedHashMap<>();
    private final int contextLength;

    private WordTokenizer(List<String> words, int contextLength) {
        for (String w : words) {
            ids.putIfAbsent(w, ids.size());
        }
        this.contextLength = contextLength;
    }

    static Optional<Tokenizer> read(Path dir, int contextLength) {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(new WordTokenizer(Files.readAllLines(f, StandardCharsets.UTF_8), contextLength));
        } catch (IOException e) {
            throw new InvalidInputException(f + ": " + e.getMessage(), e);
        }
    }

    /** Writes the vocabulary of {@code captions}; returns its size. */
    static int write(Path dir, List<String> captions) {
        Set<String> words = new LinkedHashSet<>(SPECIAL);
        for (String c : captions) {
            words.addAll(words(c));
        }
        try {
            Files.createDirectories(dir);
            Files.write(dir.resolve(FILE), words, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot write " + FILE + ": " + e.getMessage(), e);
        }
        return words.size();
    }

    private static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        for (String w : text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
            if (!w.isEmpty()) {
                out.add(w);
            }
        }
        return out;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public int specialTokens() {
        return 1; // the end of sequence
    }

    @Override
    public long[] tokenize(String text) {
        return words(text).stream().mapToLong(w -> ids.getOrDefault(w, UNK)).toArray();
    }

    @Override
    public Encoding encode(List<String> texts) {
        long[] ids = new long[texts.size() * contextLength];
        long[] mask = new long[ids.length];
        for (int i = 0; i < texts.size(); i++) {
            long[] t = tokenize(texts.get(i));
            int n = Math.min(t.length, contextLength - 1);
            for (int j = 0; j < n; j++) {
                ids[i * contextLength + j] = t[j];
                mask[i * contextLength + j] = 1;
            }
            ids[i * contextLength + n] = EOS;
            mask[i * contextLength + n] = 1;
            for (int j = n + 1; j < contextLength; j++) {
                ids[i * contextLength + j] = EOS; // the tower pools its last position: end-of-text fills the rest
            }
        }
        return new Encoding(HostTensor.ofLongs(ids, texts.size(), contextLength),
                HostTensor.ofLongs(mask, texts.size(), contextLength));
    }
}
