package dev.visiontower.models.siglip;

import dev.visiontower.api.CheckpointException;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A SentencePiece unigram model read from {@code spiece.model} (a {@code ModelProto}), with its normaliser
 * (the precompiled character map, dummy prefix, whitespace rules) and Viterbi segmentation. Only the unigram
 * algorithm is implemented; a BPE model is rejected with a clear error.
 */
final class SentencePieceModel {
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    private static final char SPACE = '\u2581';
    private static final double UNK_PENALTY = 10.0;

    private final List<String> pieces = new ArrayList<>();
    private final List<Float> scores = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();
    private final Map<String, Integer> index = new HashMap<>();
    private int maxPieceLength;
    private int unkId = -1;
    private double unkScore;
    private boolean addDummyPrefix = true;
    private boolean removeExtraWhitespaces = true;
    private boolean escapeWhitespaces = true;
    private CharsMap charsMap;
    private byte[] charsMapBytes = new byte[0];

    /** Parses the protobuf wire format (only the fields used here). */
    static SentencePieceModel parse(byte[] data, String where) {
        SentencePieceModel m = new SentencePieceModel();
        try {
            Wire w = new Wire(ByteBuffer.wrap(data));
            int modelType = 1;
            while (w.hasMore()) {
                int tag = w.varint32();
                int field = tag >>> 3;
                if (field == 1 && (tag & 7) == 2) {
                    Wire p = w.message();
                    String piece = "";
                    float score = 0;
                    int type = NORMAL;
                    while (p.hasMore()) {
                        int t = p.varint32();
                        switch (t >>> 3) {
                            case 1: piece = new String(p.bytes(), StandardCharsets.UTF_8); break;
                            case 2: score = p.fixed32(); break;
                            case 3: type = p.varint32(); break;
                            default: p.skip(t);
                        }
                    }
                    m.add(piece, score, type);
                } else if (field == 2 && (tag & 7) == 2) {
                    Wire t = w.message();
                    while (t.hasMore()) {
                        int tt = t.varint32();
                        if ((tt >>> 3) == 3 && (tt & 7) == 0) {
                            modelType = t.varint32();
                        } else {
                            t.skip(tt);
                        }
                    }
                } else if (field == 3 && (tag & 7) == 2) {
                    Wire n = w.message();
                    while (n.hasMore()) {
                        int t = n.varint32();
                        switch (t >>> 3) {
                            case 2:
                                m.charsMapBytes = n.bytes();
                                m.charsMap = CharsMap.parse(m.charsMapBytes);
                                break;
                            case 3: m.addDummyPrefix = n.varint32() != 0; break;
                            case 4: m.removeExtraWhitespaces = n.varint32() != 0; break;
                            case 5: m.escapeWhitespaces = n.varint32() != 0; break;
                            default: n.skip(t);
                        }
                    }
                } else {
                    w.skip(tag);
                }
            }
            if (modelType != 1) {
                throw new CheckpointException(where + ": SentencePiece model type " + modelType
                        + " is not supported (only unigram, type 1)");
            }
        } catch (RuntimeException e) {
            if (e instanceof CheckpointException) {
                throw e;
            }
            throw new CheckpointException(where + ": not a readable SentencePiece model: " + e.getMessage(), e);
        }
        if (m.unkId < 0) {
            throw new CheckpointException(where + ": SentencePiece model has no <unk> piece");
        }
        float min = Float.MAX_VALUE;
        for (int i = 0; i < m.pieces.size(); i++) {
            if (m.types.get(i) == NORMAL) {
                min = Math.min(min, m.scores.get(i));
            }
        }
        m.unkScore = min - UNK_PENALTY;
        return m;
    }

    private void add(String piece, float score, int type) {
        int id = pieces.size();
        pieces.add(piece);
        scores.add(score);
        types.add(type);
        if (type == UNKNOWN) {
            unkId = id;
        }
        if (type == NORMAL || type == USER_DEFINED) {
            index.putIfAbsent(piece, id);
            maxPieceLength = Math.max(maxPieceLength, piece.length());
        }
    }

    int size() {
        return pieces.size();
    }

    String piece(int id) {
        return pieces.get(id);
    }

    float score(int id) {
        return scores.get(id);
    }

    int type(int id) {
        return types.get(id);
    }

    /** The normaliser's precompiled character map as stored in the model (empty when it has none). */
    byte[] charsMapBytes() {
        return charsMapBytes.clone();
    }

    int unkId() {
        return unkId;
    }

    /** Id of a piece of any type, or -1. */
    int idOf(String piece) {
        for (int i = 0; i < pieces.size(); i++) {
            if (pieces.get(i).equals(piece)) {
                return i;
            }
        }
        return -1;
    }

    /** The normaliser: character map, whitespace rules, optional dummy prefix, spaces as U+2581. */
    String normalize(String text, boolean dummyPrefix) {
        String t = charsMap == null ? text : charsMap.apply(text);
        if (removeExtraWhitespaces) {
            t = t.strip().replaceAll(" +", " ");
        }
        if (t.isEmpty()) {
            return t;
        }
        if (dummyPrefix && addDummyPrefix) {
            t = " " + t;
        }
        return escapeWhitespaces ? t.replace(' ', SPACE) : t;
    }

    /** Viterbi segmentation into piece ids; runs of unknown characters become one unknown id. */
    List<Integer> encode(String normalized) {
        int[] cps = normalized.codePoints().toArray();
        int n = cps.length;
        int[] offsets = new int[n + 1];
        for (int i = 0; i < n; i++) {
            offsets[i + 1] = offsets[i] + Character.charCount(cps[i]);
        }
        double[] best = new double[n + 1];
        int[] backPos = new int[n + 1];
        int[] backId = new int[n + 1];
        java.util.Arrays.fill(best, Double.NEGATIVE_INFINITY);
        best[0] = 0;
        for (int i = 0; i < n; i++) {
            if (best[i] == Double.NEGATIVE_INFINITY) {
                continue;
            }
            boolean single = false;
            for (int j = i + 1; j <= n && offsets[j] - offsets[i] <= maxPieceLength; j++) {
                Integer id = index.get(normalized.substring(offsets[i], offsets[j]));
                if (id == null) {
                    continue;
                }
                single |= j == i + 1;
                double s = best[i] + (types.get(id) == USER_DEFINED ? 0 : scores.get(id));
                if (s > best[j]) {
                    best[j] = s;
                    backPos[j] = i;
                    backId[j] = id;
                }
            }
            if (!single) {
                double s = best[i] + unkScore;
                if (s > best[i + 1]) {
                    best[i + 1] = s;
                    backPos[i + 1] = i;
                    backId[i + 1] = unkId;
                }
            }
        }
        List<Integer> ids = new ArrayList<>();
        for (int j = n; j > 0; j = backPos[j]) {
            ids.add(backId[j]);
        }
        java.util.Collections.reverse(ids);
        List<Integer> merged = new ArrayList<>();
        for (int id : ids) {
            if (id == unkId && !merged.isEmpty() && merged.get(merged.size() - 1) == unkId) {
                continue;
            }
            merged.add(id);
        }
        return merged;
    }

    /** SentencePiece's precompiled character map: a double-array trie over UTF-8 plus replacement strings. */
    static final class CharsMap {
        private final int[] units;
        private final byte[] normalized;

        private CharsMap(int[] units, byte[] normalized) {
            this.units = units;
            this.normalized = normalized;
        }

        static CharsMap parse(byte[] blob) {
            if (blob.length == 0) {
                return null;
            }
            ByteBuffer b = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
            int trieSize = b.getInt();
            if (trieSize < 0 || trieSize % 4 != 0 || trieSize > blob.length - 4) {
                throw new IllegalArgumentException("bad precompiled charsmap");
            }
            int[] units = new int[trieSize / 4];
            for (int i = 0; i < units.length; i++) {
                units[i] = b.getInt();
            }
            byte[] rest = new byte[blob.length - 4 - trieSize];
            b.get(rest);
            return new CharsMap(units, rest);
        }

        /** Longest match at {@code pos}: {value, length} or null. */
        private int[] longestMatch(byte[] key, int pos) {
            int node = 0;
            int unit = units[node];
            node ^= offset(unit);
            int[] found = null;
            for (int i = pos; i < key.length; i++) {
                int c = key[i] & 0xff;
                node ^= c;
                if (node < 0 || node >= units.length) {
                    break;
                }
                unit = units[node];
                if ((unit & ((1 << 31) | 0xff)) != c) {
                    break;
                }
                node ^= offset(unit);
                if (((unit >>> 8) & 1) == 1 && node < units.length) {
                    found = new int[] {units[node] & 0x7fffffff, i - pos + 1};
                }
            }
            return found;
        }

        private static int offset(int unit) {
            return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
        }

        String apply(String text) {
            byte[] in = text.getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream out = new ByteArrayOutputStream(in.length);
            int pos = 0;
            while (pos < in.length) {
                int[] m = longestMatch(in, pos);
                if (m != null) {
                    int v = m[0];
                    while (v < normalized.length && normalized[v] != 0) {
                        out.write(normalized[v++]);
                    }
                    pos += m[1];
                } else {
                    int len = utf8Length(in[pos]);
                    out.write(in, pos, Math.min(len, in.length - pos));
                    pos += len;
                }
            }
            return new String(out.toByteArray(), StandardCharsets.UTF_8);
        }

        private static int utf8Length(byte lead) {
            int b = lead & 0xff;
            return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
        }
    }

    /** Minimal protobuf wire-format reader. */
    private static final class Wire {
        private final ByteBuffer b;

        Wire(ByteBuffer b) {
            this.b = b;
        }

        boolean hasMore() {
            return b.hasRemaining();
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                byte x = b.get();
                v |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) {
                    return v;
                }
            }
            throw new IllegalArgumentException("malformed varint");
        }

        int varint32() {
            return (int) varint();
        }

        float fixed32() {
            return Float.intBitsToFloat(b.order(ByteOrder.LITTLE_ENDIAN).getInt());
        }

        byte[] bytes() {
            int len = varint32();
            if (len < 0 || len > b.remaining()) {
                throw new IllegalArgumentException("length " + len + " past the end");
            }
            byte[] out = new byte[len];
            b.get(out);
            return out;
        }

        Wire message() {
            return new Wire(ByteBuffer.wrap(bytes()));
        }

        void skip(int tag) {
            switch (tag & 7) {
                case 0: varint(); break;
                case 1: b.position(b.position() + 8); break;
                case 2: bytes(); break;
                case 5: b.position(b.position() + 4); break;
                default: throw new IllegalArgumentException("unsupported wire type " + (tag & 7));
            }
        }
    }
}
