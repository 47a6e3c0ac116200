package dev.visiontower.models.siglip;

import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * SigLIP's tokenizer as transformers' {@code SiglipTokenizer} runs it: literal special tokens ({@code </s>},
 * {@code <unk>}) split out first; each remaining chunk lower-cased, stripped of ASCII punctuation, whitespace
 * collapsed; SentencePiece (dummy prefix only at the start of the text); {@code </s>} appended; truncated keeping the
 * final {@code </s>}; padded with {@code </s>} to the context length (attention mask 0 on the padding).
 */
public final class SiglipTokenizer implements Tokenizer {
    private static final String EOS = "</s>";
    private static final String UNK = "<unk>";
    private static final Pattern SPECIAL = Pattern.compile(Pattern.quote(EOS) + "|" + Pattern.quote(UNK));
    private static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private final SentencePieceModel model;
    private final int contextLength;
    private final int eosId;

    SiglipTokenizer(SentencePieceModel model, int contextLength) {
        this.model = model;
        this.contextLength = contextLength;
        int eos = model.idOf(EOS);
        if (eos < 0) {
            throw new CheckpointException("SentencePiece model has no " + EOS + " piece");
        }
        this.eosId = eos;
    }

    /** Reads {@code spiece.model}. */
    public static SiglipTokenizer load(Path spieceModel, int contextLength) {
        try {
            return new SiglipTokenizer(SentencePieceModel.parse(Files.readAllBytes(spieceModel), spieceModel.toString()),
                    contextLength);
        } catch (IOException e) {
            throw new CheckpointException(spieceModel + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * The tokenizer shipped in a model directory: {@code spiece.model} (SigLIP), else {@code tokenizer.json} (SigLIP 2,
     * see {@link SiglipJsonTokenizer}), if any.
     */
    static Optional<Tokenizer> find(Path dir, int contextLength) {
        Path p = dir.resolve("spiece.model");
        if (Files.isRegularFile(p)) {
            return Optional.of(load(p, contextLength));
        }
        return Files.isRegularFile(dir.resolve("tokenizer.json"))
                ? Optional.of(SiglipJsonTokenizer.load(dir, contextLength)) : Optional.empty();
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public int specialTokens() {
        return 1; // the end of sequence
    }

    /** transformers' {@code canonicalize_text} after lower-casing. */
    static String canonicalize(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        String lower = text.toLowerCase(java.util.Locale.ROOT);
        for (int i = 0; i < lower.length(); i++) {
            char c = lower.charAt(i);
            if (PUNCTUATION.indexOf(c) < 0) {
                sb.append(c);
            }
        }
        return sb.toString().replaceAll("\\s+", " ").strip();
    }

    @Override
    public long[] tokenize(String text) {
        List<Integer> ids = new ArrayList<>();
        Matcher m = SPECIAL.matcher(text);
        int last = 0;
        boolean first = true;
        while (m.find()) {
            encodeChunk(text.substring(last, m.start()), first, ids);
            ids.add(m.group().equals(EOS) ? eosId : model.unkId());
            last = m.end();
            first = false;
        }
        encodeChunk(text.substring(last), first, ids);
        return ids.stream().mapToLong(Integer::longValue).toArray();
    }

    private void encodeChunk(String chunk, boolean startOfText, List<Integer> out) {
        String canonical = canonicalize(chunk);
        if (!canonical.isEmpty()) {
            out.addAll(model.encode(model.normalize(canonical, startOfText)));
        }
    }

    @Override
    public Encoding encode(List<String> texts) {
        long[] ids = new long[texts.size() * contextLength];
        long[] mask = new long[ids.length];
        for (int row = 0; row < texts.size(); row++) {
            long[] body = tokenize(texts.get(row));
            int n = Math.min(body.length + 1, contextLength);
            int base = row * contextLength;
            java.util.Arrays.fill(ids, base, base + contextLength, eosId);
            System.arraycopy(body, 0, ids, base, n - 1);
            for (int i = 0; i < n; i++) {
                mask[base + i] = 1;
            }
        }
        return new Encoding(HostTensor.ofLongs(ids, texts.size(), contextLength),
                HostTensor.ofLongs(mask, texts.size(), contextLength));
    }
}
