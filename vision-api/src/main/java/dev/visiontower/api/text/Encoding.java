package dev.visiontower.api.text;

import dev.visiontower.api.HostTensor;

/**
 * Tokenizer output.
 *
 * @param inputIds      int64 {@code [B, N]}
 * @param attentionMask int64 {@code [B, N]}, 1 for tokens and 0 for padding
 */
public record Encoding(HostTensor inputIds, HostTensor attentionMask) {
}
