package dev.visiontower.api.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Shapes;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reader of the safetensors format: an 8-byte little-endian header length, a JSON header, then the data. The header is
 * validated completely when the file is opened (length bound, JSON shape, dtype/shape/byte-size agreement, offsets
 * inside the file, no overlaps, no duplicate names), so a corrupt file fails with a message naming the file and the
 * tensor before any data is touched. Tensor data is memory-mapped one tensor at a time, so files over 2 GiB work
 * (a single tensor must stay under 2 GiB).
 */
public final class Safetensors implements TensorSource, AutoCloseable {
    /** Upper bound on the JSON header (the reference implementation uses 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private record Entry(TensorInfo info, long begin, long end) {
    }

    private Safetensors(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries,
                        Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens and validates a file. */
    public static Safetensors open(Path path) {
        if (java.nio.file.Files.exists(path) && !java.nio.file.Files.isRegularFile(path)) {
            throw new InvalidInputException(path + ": not a regular file (a directory, device or pipe cannot hold "
                    + "weights)");
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(path + ": no such file");
        } catch (IOException e) {
            throw new InvalidInputException(path + ": cannot open: " + e.getMessage(), e);
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static Safetensors parse(Path path, FileChannel ch) {
        String file = path.toString();
        try {
            long size = ch.size();
            if (size < 8) {
                throw new CheckpointException(file + ": not a safetensors file (" + size
                        + " bytes, shorter than the 8-byte header length)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
                throw new CheckpointException(file + ": header length " + Long.toUnsignedString(headerLen)
                        + " is outside (0, " + MAX_HEADER_BYTES + "]; the file is not safetensors or is corrupt");
            }
            if (8 + headerLen > size) {
                throw new CheckpointException(file + ": header length " + headerLen + " runs past the end of the "
                        + size + "-byte file (truncated?)");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            JsonNode root;
            try {
                root = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (JsonProcessingException e) {
                throw new CheckpointException(file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (root == null || !root.isObject()) {
                throw new CheckpointException(file + ": header must be a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String name = f.getKey();
                JsonNode v = f.getValue();
                if (name.equals("__metadata__")) {
                    if (!v.isObject()) {
                        throw new CheckpointException(file + ": __metadata__ must be an object of strings");
                    }
                    v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.put(name, entry(file, name, v, dataLen));
            }
            // the tensors must tile the data section exactly: no overlap, no hole, nothing before or after
            List<Entry> sorted = new ArrayList<>(entries.values());
            sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
            Entry prev = null;
            long covered = 0;
            for (Entry e : sorted) {
                if (e.end == e.begin && e.begin <= covered) {
                    continue; // an empty tensor takes no bytes
                }
                if (e.begin < covered) {
                    throw new CheckpointException(file + ": tensors '" + prev.info.name() + "' and '" + e.info.name()
                            + "' overlap (bytes " + prev.begin + ".." + prev.end + " and " + e.begin + ".." + e.end
                            + ")");
                }
                if (e.begin > covered) {
                    throw new CheckpointException(file + ": bytes " + covered + ".." + e.begin + " of the data section "
                            + "belong to no tensor (before '" + e.info.name() + "'); the header does not describe "
                            + "this data");
                }
                covered = e.end;
                prev = e;
            }
            if (covered != dataLen) {
                throw new CheckpointException(file + ": the tensors cover " + covered + " bytes but the data section "
                        + "holds " + dataLen + (covered < dataLen ? " (trailing bytes, or a header that lost some "
                        + "padding)" : "") + "; the file is corrupt");
            }
            return new Safetensors(path, ch, dataStart, Collections.unmodifiableMap(entries),
                    Collections.unmodifiableMap(metadata));
        } catch (IOException e) {
            throw new CheckpointException(file + ": read failed: " + e.getMessage(), e);
        }
    }

    private static Entry entry(String file, String name, JsonNode v, long dataLen) {
        String where = file + ": tensor '" + name + "'";
        if (!v.isObject()) {
            throw new CheckpointException(where + ": entry must be an object with dtype, shape, data_offsets");
        }
        JsonNode dt = v.get("dtype");
        JsonNode sh = v.get("shape");
        JsonNode off = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) {
            throw new CheckpointException(where + ": missing or non-string dtype");
        }
        int elemSize = elementSize(dt.asText());
        if (elemSize < 0) {
            throw new CheckpointException(where + ": unknown dtype '" + dt.asText() + "'");
        }
        if (sh == null || !sh.isArray()) {
            throw new CheckpointException(where + ": missing or non-array shape");
        }
        long[] shape = new long[sh.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new CheckpointException(where + ": shape " + sh + " must hold non-negative integers");
            }
            shape[i] = d.asLong();
        }
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber()) {
            throw new CheckpointException(where + ": data_offsets must be [begin, end]");
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin || end > dataLen) {
            throw new CheckpointException(where + ": data_offsets [" + begin + ", " + end + "] are outside the "
                    + dataLen + "-byte data section (truncated file?)");
        }
        long numel;
        try {
            numel = Shapes.numel(shape);
        } catch (ArithmeticException e) {
            throw new CheckpointException(where + ": shape " + Shapes.format(shape) + " overflows");
        }
        long expected = numel * elemSize;
        if (end - begin != expected) {
            throw new CheckpointException(where + ": " + dt.asText() + Shapes.format(shape) + " needs " + expected
                    + " bytes but data_offsets span " + (end - begin));
        }
        return new Entry(new TensorInfo(name, dt.asText(), shape, file), begin, end);
    }

    /** Byte size of a safetensors dtype, or -1 if unknown. */
    static int elementSize(String dtype) {
        switch (dtype) {
            case "BOOL": case "U8": case "I8": case "F8_E4M3": case "F8_E5M2": return 1;
            case "I16": case "U16": case "F16": case "BF16": return 2;
            case "I32": case "U32": case "F32": return 4;
            case "I64": case "U64": case "F64": return 8;
            default: return -1;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public Set<String> names() {
        return entries.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return entry(name).info;
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new CheckpointException(path + ": no tensor named '" + name + "'");
        }
        return e;
    }

    /** Maps the raw little-endian bytes of one tensor (read-only). */
    public ByteBuffer rawBytes(String name) {
        Entry e = entry(name);
        long len = e.end - e.begin;
        if (len > Integer.MAX_VALUE) {
            throw new CheckpointException(path + ": tensor '" + name + "' is " + len
                    + " bytes; tensors over 2 GiB are not supported");
        }
        try {
            MappedByteBuffer m = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, len);
            return m.order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException ex) {
            throw new CheckpointException(path + ": cannot map tensor '" + name + "': " + ex.getMessage(), ex);
        }
    }

    @Override
    public HostTensor read(String name) {
        Entry e = entry(name);
        TensorInfo info = e.info;
        long numel = Shapes.numel(info.shape());
        if (numel > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(path + ": tensor '" + name + "' has " + numel
                    + " elements, more than a Java array holds");
        }
        int n = (int) numel;
        ByteBuffer b = rawBytes(name);
        switch (info.dtype()) {
            case "F32": {
                float[] out = new float[n];
                b.asFloatBuffer().get(out);
                return HostTensor.ofFloats(out, info.shape());
            }
            case "F16": {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = Half.toFloat(b.getShort(2 * i));
                }
                return HostTensor.ofFloats(out, info.shape());
            }
            case "BF16": {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
                }
                return HostTensor.ofFloats(out, info.shape());
            }
            case "F64": {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(8 * i);
                }
                return HostTensor.ofFloats(out, info.shape());
            }
            case "I64": {
                long[] out = new long[n];
                b.asLongBuffer().get(out);
                return HostTensor.ofLongs(out, info.shape());
            }
            case "I32": {
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = b.getInt(4 * i);
                }
                return HostTensor.ofLongs(out, info.shape());
            }
            case "U8": case "BOOL": {
                byte[] out = new byte[n];
                b.get(out);
                return HostTensor.ofBytes(out, info.shape());
            }
            case "I8": {
                byte[] out = new byte[n];
                b.get(out);
                return HostTensor.ofInt8(out, info.shape());
            }
            default:
                throw new CheckpointException(path + ": tensor '" + name + "' has dtype " + info.dtype()
                        + ", which is not supported (expected F32, F16, BF16, F64, I64, I32, I8, U8 or BOOL)");
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to lose on a read-only channel
        }
    }

    /** IEEE half precision to float. */
    static final class Half {
        private Half() {
        }

        static float toFloat(short bits) {
            int h = bits & 0xFFFF;
            int sign = (h >>> 15) << 31;
            int exp = (h >>> 10) & 0x1F;
            int mant = h & 0x3FF;
            if (exp == 0) {
                if (mant == 0) {
                    return Float.intBitsToFloat(sign);
                }
                // subnormal: value = mant * 2^-24
                float v = mant * 0x1p-24f;
                return sign == 0 ? v : -v;
            }
            if (exp == 31) {
                return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
            }
            return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
        }
    }
}
