package dev.visiontower.models.siglip;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Builds a SentencePiece unigram model ({@code spiece.model}) for a set of captions, for SigLIP models trained from
 * scratch: {@code <pad>}, {@code </s>}, {@code <unk>} (ids 0, 1, 2 as in SigLIP's own vocabulary), one piece per
 * caption word (after SigLIP's canonicalisation, with the word-start marker, scored by log frequency), then every
 * character of those words and the bare marker at a low score so that unseen words still split into known pieces.
 * The normaliser is the identity with a dummy prefix and whitespace collapsing. The file is an ordinary
 * {@code ModelProto}: the {@code sentencepiece} library and transformers' {@code SiglipTokenizer} read it.
 */
final class SentencePieceWriter {
    private static final String MARK = "\u2581";
    private static final float CHAR_SCORE = -30f;

    private final List<String> pieces = new ArrayList<>();
    private final List<Float> scores = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();

    SentencePieceWriter(List<String> captions) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        long total = 0;
        for (String c : captions) {
            for (String w : SiglipTokenizer.canonicalize(c).split(" ")) {
                if (!w.isEmpty()) {
                    counts.merge(w, 1, Integer::sum);
                    total++;
                }
            }
        }
        add("<pad>", 0f, SentencePieceModel.CONTROL);
        add("</s>", 0f, SentencePieceModel.CONTROL);
        add("<unk>", 0f, SentencePieceModel.UNKNOWN);
        List<Map.Entry<String, Integer>> words = new ArrayList<>(counts.entrySet());
        words.sort((a, b) -> b.getValue() != a.getValue().intValue() ? b.getValue() - a.getValue()
                : a.getKey().compareTo(b.getKey()));
        TreeSet<String> chars = new TreeSet<>();
        for (Map.Entry<String, Integer> e : words) {
            add(MARK + e.getKey(), (float) Math.log((double) e.getValue() / Math.max(1, total)),
                    SentencePieceModel.NORMAL);
            e.getKey().codePoints().forEach(cp -> chars.add(new String(Character.toChars(cp))));
        }
        add(MARK, CHAR_SCORE, SentencePieceModel.NORMAL);
        for (String ch : chars) {
            if (!pieces.contains(ch)) {
                add(ch, CHAR_SCORE - 1, SentencePieceModel.NORMAL);
            }
        }
    }

    private void add(String piece, float score, int type) {
        pieces.add(piece);
        scores.add(score);
        types.add(type);
    }

    int size() {
        return pieces.size();
    }

    /** The serialized {@code ModelProto}. */
    byte[] toBytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < pieces.size(); i++) {
            ByteArrayOutputStream p = new ByteArrayOutputStream();
            bytesField(p, 1, pieces.get(i).getBytes(StandardCharsets.UTF_8));
            fixed32Field(p, 2, Float.floatToIntBits(scores.get(i)));
            varintField(p, 3, types.get(i));
            bytesField(out, 1, p.toByteArray()); // repeated SentencePiece pieces = 1
        }
        ByteArrayOutputStream trainer = new ByteArrayOutputStream();
        varintField(trainer, 3, 1);            // model_type = UNIGRAM
        varintField(trainer, 4, pieces.size()); // vocab_size
        varintField(trainer, 40, 2);           // unk_id
        varintField(trainer, 41, -1);          // bos_id: none
        varintField(trainer, 42, 1);           // eos_id
        varintField(trainer, 43, 0);           // pad_id
        bytesField(out, 2, trainer.toByteArray());
        ByteArrayOutputStream normalizer = new ByteArrayOutputStream();
        bytesField(normalizer, 1, "identity".getBytes(StandardCharsets.UTF_8));
        varintField(normalizer, 3, 1); // add_dummy_prefix
        varintField(normalizer, 4, 1); // remove_extra_whitespaces
        varintField(normalizer, 5, 1); // escape_whitespaces
        bytesField(out, 3, normalizer.toByteArray());
        return out.toByteArray();
    }

    private static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }

    private static void varintField(ByteArrayOutputStream o, int field, long v) {
        varint(o, (long) field << 3);
        varint(o, v); // negative int32 values take ten bytes, as protobuf encodes them
    }

    private static void fixed32Field(ByteArrayOutputStream o, int field, int bits) {
        varint(o, ((long) field << 3) | 5);
        for (int i = 0; i < 4; i++) {
            o.write((bits >>> (8 * i)) & 0xFF);
        }
    }

    private static void bytesField(ByteArrayOutputStream o, int field, byte[] b) {
        varint(o, ((long) field << 3) | 2);
        varint(o, b.length);
        o.write(b, 0, b.length);
    }
}
