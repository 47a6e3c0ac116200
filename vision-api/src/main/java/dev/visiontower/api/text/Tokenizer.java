package dev.visiontower.api.text;

import java.util.List;

/** Turns text into the token ids a text tower expects, padded to its context length. */
public interface Tokenizer {

    /** Length every encoding is padded or truncated to. */
    int contextLength();

    /** Token ids of one text without special tokens or padding. */
    long[] tokenize(String text);

    /**
     * How many special tokens {@link #encode} puts around one text's ids (CLIP: start and end of text, 2; SigLIP: the
     * end of sequence, 1): a text fits without truncation when {@code tokenize(text).length + specialTokens() <=
     * contextLength()}.
     */
    default int specialTokens() {
        return 0;
    }

    /** Ids {@code [B, contextLength]} and attention mask (1 = token, 0 = padding), both int64. */
    Encoding encode(List<String> texts);
}
