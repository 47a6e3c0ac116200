package dev.visiontower.api.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/** Writes host tensors as a safetensors file (F32, I64, U8), atomically: a temporary file renamed into place. */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {
    }

    /** A tensor's entry in a safetensors header. */
    record Entry(dev.visiontower.api.DType dtype, long[] shape) {
        long bytes() {
            long n = dtype.byteSize();
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /** The bytes before the data: the header length, then the JSON header padded with spaces to 8 bytes. */
    static byte[] prefix(Map<String, Entry> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            Entry t = e.getValue();
            ObjectNode o = header.putObject(e.getKey());
            o.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = o.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            long len = t.bytes();
            ArrayNode off = o.putArray("data_offsets");
            off.add(offset);
            off.add(offset + len);
            offset += len;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[8 + padded];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        java.util.Arrays.fill(out, 8, out.length, (byte) ' ');
        System.arraycopy(json, 0, out, 8, json.length);
        return out;
    }

    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata) {
        Map<String, Entry> entries = new java.util.LinkedHashMap<>();
        tensors.forEach((name, t) -> entries.put(name, new Entry(t.dtype(), t.shape())));
        byte[] prefix = prefix(entries, metadata);
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        try {
            if (dir != null) {
                Files.createDirectories(dir);
            }
            Path tmp = AtomicFiles.newSiblingFile(abs);
            try {
                try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                    out.write(prefix);
                    for (HostTensor t : tensors.values()) {
                        writeData(out, t);
                    }
                }
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    static void writeData(OutputStream out, HostTensor t) throws IOException {
        final int chunk = 1 << 16;
        switch (t.dtype()) {
            case FLOAT32: {
                float[] f = t.floats();
                ByteBuffer b = ByteBuffer.allocate(chunk * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < f.length; i += chunk) {
                    b.clear();
                    int n = Math.min(chunk, f.length - i);
                    b.asFloatBuffer().put(f, i, n);
                    out.write(b.array(), 0, n * 4);
                }
                break;
            }
            case INT64: {
                long[] l = t.longs();
                ByteBuffer b = ByteBuffer.allocate(chunk * 8).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < l.length; i += chunk) {
                    b.clear();
                    int n = Math.min(chunk, l.length - i);
                    b.asLongBuffer().put(l, i, n);
                    out.write(b.array(), 0, n * 8);
                }
                break;
            }
            case UINT8:
            case INT8:
                out.write(t.bytes());
                break;
            default:
                throw new IllegalStateException("cannot write dtype " + t.dtype());
        }
    }
}
