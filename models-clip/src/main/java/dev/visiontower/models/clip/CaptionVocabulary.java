package dev.visiontower.models.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A small CLIP-style byte-level BPE vocabulary for training from scratch: every byte (so any text tokenizes), plus
 * merges that make each word of the training captions a single token. Written as Hugging Face {@code vocab.json} and
 * {@code merges.txt}, which the CLIP tokenizer reads like any shipped tokenizer.
 */
final class CaptionVocabulary {
    final Map<String, Integer> vocab = new LinkedHashMap<>();
    final List<String[]> merges = new ArrayList<>();

    CaptionVocabulary(List<String> captions) {
        for (String c : byteOrder()) {
            vocab.put(c, vocab.size());
        }
        for (String c : byteOrder()) {
            vocab.put(c + "</w>", vocab.size());
        }
        Set<String> words = new LinkedHashSet<>();
        for (String c : captions) {
            for (String w : c.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
                if (!w.isEmpty() && w.chars().allMatch(ch -> ch < 128)) {
                    words.add(w);
                }
            }
        }
        for (String w : words) {
            List<String> pieces = bpe(w);
            while (pieces.size() > 1) {
                String[] m = {pieces.get(0), pieces.get(1)};
                merges.add(m);
                vocab.putIfAbsent(m[0] + m[1], vocab.size());
                pieces = bpe(w);
            }
        }
        vocab.put("<|startoftext|>", vocab.size());
        vocab.put("<|endoftext|>", vocab.size());
    }

    int size() {
        return vocab.size();
    }

    private List<String> bpe(String word) {
        List<String> w = new ArrayList<>();
        for (int i = 0; i < word.length(); i++) {
            w.add(i == word.length() - 1 ? word.charAt(i) + "</w>" : String.valueOf(word.charAt(i)));
        }
        Map<String, Integer> rank = new LinkedHashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            rank.putIfAbsent(merges.get(i)[0] + " " + merges.get(i)[1], i);
        }
        while (w.size() > 1) {
            int best = Integer.MAX_VALUE;
            int at = -1;
            for (int i = 0; i < w.size() - 1; i++) {
                Integer r = rank.get(w.get(i) + " " + w.get(i + 1));
                if (r != null && r < best) {
                    best = r;
                    at = i;
                }
            }
            if (at < 0) {
                break;
            }
            String a = w.get(at);
            String b = w.get(at + 1);
            List<String> next = new ArrayList<>();
            for (int i = 0; i < w.size(); i++) {
                if (i < w.size() - 1 && w.get(i).equals(a) && w.get(i + 1).equals(b)) {
                    next.add(a + b);
                    i++;
                } else {
                    next.add(w.get(i));
                }
            }
            w = next;
        }
        return w;
    }

    byte[] vocabJson() throws com.fasterxml.jackson.core.JsonProcessingException {
        ObjectNode o = new ObjectMapper().createObjectNode();
        vocab.forEach(o::put);
        return new ObjectMapper().writeValueAsBytes(o);
    }

    byte[] mergesTxt() {
        StringBuilder sb = new StringBuilder("#version: 0.2\n");
        for (String[] m : merges) {
            sb.append(m[0]).append(' ').append(m[1]).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** GPT-2's printable characters for the 256 bytes, printable bytes first (the vocabulary's order). */
    static List<String> byteOrder() {
        List<String> printable = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        int n = 0;
        String[] chars = new String[256];
        for (int b = 0; b < 256; b++) {
            boolean p = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
            chars[b] = p ? new String(Character.toChars(b)) : new String(Character.toChars(256 + n++));
            (p ? printable : rest).add(chars[b]);
        }
        printable.addAll(rest);
        return printable;
    }
}
