package dev.visiontower.api.text;

import java.util.List;

/** Turns text into the token ids a text tower expects, padded to its context length. */
public interface Tokenizer {

    /** Length every encoding is padded or truncated to. */
    int contextLength();

    /** Token ids of one text without special tokens or padding. */
    long[] tokenize(String text);

    /** Ids {@code [B, contextLength]} and attention mask (1 = token, 0 = padding), both int64. */
    Encoding encode(List<String> texts);
}
