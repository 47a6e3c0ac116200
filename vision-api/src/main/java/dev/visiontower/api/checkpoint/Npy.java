package dev.visiontower.api.checkpoint;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.Shapes;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format versions 1-3, C order): reads {@code <f4 <f8 <f2 <i8 <i4 |u1 |b1}, writes float32,
 * int64 and uint8.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    private Npy() {
    }

    public static HostTensor read(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(file + ": no such file");
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read: " + e.getMessage(), e);
        }
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 10) {
            throw new InvalidInputException(file + ": not a .npy file (too short)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (all[i] != MAGIC[i]) {
                throw new InvalidInputException(file + ": not a .npy file (bad magic)");
            }
        }
        int major = all[6];
        long headerLen;
        int pos;
        if (major == 1) {
            headerLen = b.getShort(8) & 0xFFFF;
            pos = 10;
        } else if (major == 2 || major == 3) {
            if (all.length < 12) {
                throw new InvalidInputException(file + ": truncated .npy header");
            }
            headerLen = b.getInt(8) & 0xFFFFFFFFL;
            pos = 12;
        } else {
            throw new InvalidInputException(file + ": unsupported .npy version " + major);
        }
        if (pos + headerLen > all.length) {
            throw new InvalidInputException(file + ": .npy header runs past the end of the file");
        }
        String header = new String(all, pos, (int) headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int dataPos = (int) (pos + headerLen);
        Map<String, String> dict = parseHeader(file, header);
        if (dict.get("fortran_order").equals("True")) {
            throw new InvalidInputException(file + ": Fortran-order arrays are not supported; save with "
                    + "np.ascontiguousarray");
        }
        String shapeText = dict.get("shape");
        List<Long> dims = new ArrayList<>();
        for (String part : shapeText.substring(1, shapeText.length() - 1).split(",")) {
            String p = part.trim();
            if (!p.isEmpty()) {
                long v;
                try {
                    v = Long.parseLong(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
                } catch (NumberFormatException e) {
                    throw new InvalidInputException(file + ": bad shape in .npy header: " + shapeText);
                }
                if (v < 0) {
                    throw new InvalidInputException(file + ": negative size in the .npy shape " + shapeText);
                }
                dims.add(v);
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        String descr = dict.get("descr");
        descr = descr.substring(1, descr.length() - 1);
        int size = elementSize(descr);
        if (size < 0) {
            throw new InvalidInputException(file + ": unsupported dtype '" + descr
                    + "', expected one of [<f4, <f8, <f2, <i8, <i4, |u1, |b1]");
        }
        long numel;
        long bytes;
        try {
            numel = Shapes.numel(shape);
            bytes = Math.multiplyExact(numel, size);
        } catch (ArithmeticException e) {
            throw new InvalidInputException(file + ": the .npy shape " + shapeText + " overflows");
        }
        if (numel > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException(file + ": " + Shapes.format(shape) + " has " + numel
                    + " elements, more than one array holds (2^31 - 9)");
        }
        long have = all.length - (long) dataPos;
        if (bytes > have) {
            throw new InvalidInputException(file + ": data is truncated: " + descr + Shapes.format(shape) + " needs "
                    + bytes + " bytes, file has " + have);
        }
        if (bytes < have) {
            throw new InvalidInputException(file + ": " + (have - bytes) + " bytes after the data that "
                    + descr + Shapes.format(shape) + " needs; the file is corrupt");
        }
        int n = (int) numel;
        switch (descr) {
            case "<f4": {
                float[] out = new float[n];
                b.position(dataPos);
                b.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
                return HostTensor.ofFloats(out, shape);
            }
            case "<f8": {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(dataPos + 8 * i);
                }
                return HostTensor.ofFloats(out, shape);
            }
            case "<f2": {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = Safetensors.Half.toFloat(b.getShort(dataPos + 2 * i));
                }
                return HostTensor.ofFloats(out, shape);
            }
            case "<i8": {
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = b.getLong(dataPos + 8 * i);
                }
                return HostTensor.ofLongs(out, shape);
            }
            case "<i4": {
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = b.getInt(dataPos + 4 * i);
                }
                return HostTensor.ofLongs(out, shape);
            }
            default: {
                byte[] out = new byte[n];
                System.arraycopy(all, dataPos, out, 0, n);
                return HostTensor.ofBytes(out, shape);
            }
        }
    }

    private static final Pattern ENTRY = Pattern.compile(
            "\\s*'(descr|fortran_order|shape)'\\s*:\\s*('[^']*'|True|False|\\([^()]*\\))\\s*(,|\\})");

    /** The header's dict, strictly: exactly descr, fortran_order and shape, each once, and nothing else. */
    private static Map<String, String> parseHeader(Path file, String header) {
        String h = header.strip();
        Map<String, String> out = new java.util.LinkedHashMap<>();
        if (h.startsWith("{")) {
            Matcher m = ENTRY.matcher(h);
            int at = 1;
            boolean closed = false;
            while (!closed && m.find(at) && m.start() == at) {
                if (out.put(m.group(1), m.group(2)) != null) {
                    throw new InvalidInputException(file + ": .npy header names '" + m.group(1) + "' twice");
                }
                at = m.end();
                if (m.group(3).equals("}")) {
                    closed = true;
                } else if (h.substring(at).strip().equals("}")) { // a trailing comma before the brace
                    closed = true;
                    at = h.length();
                }
            }
            if (closed && at == h.length() && out.size() == 3) {
                return out;
            }
        }
        throw new InvalidInputException(file + ": cannot parse the .npy header " + h + " (expected a dict of exactly "
                + "'descr', 'fortran_order' and 'shape')");
    }

    private static int elementSize(String descr) {
        switch (descr) {
            case "<f4": case "<i4": return 4;
            case "<f8": case "<i8": return 8;
            case "<f2": return 2;
            case "|u1": case "|b1": return 1;
            default: return -1;
        }
    }

    /** The bytes before the data of a version 1.0 {@code .npy} file (magic, header length, padded header dict). */
    static byte[] header(dev.visiontower.api.DType dtype, long[] s) {
        String descr;
        switch (dtype) {
            case FLOAT32: descr = "<f4"; break;
            case INT64: descr = "<i8"; break;
            case UINT8: descr = "|u1"; break;
            default: throw new IllegalStateException("cannot write dtype " + dtype);
        }
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < s.length; i++) {
            shape.append(s[i]);
            if (s.length == 1 || i < s.length - 1) {
                shape.append(s.length == 1 ? "," : ", ");
            }
        }
        shape.append(')');
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int total = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        byte[] h = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[MAGIC.length + 4 + h.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        out[MAGIC.length] = 1;
        out[MAGIC.length + 1] = 0;
        out[MAGIC.length + 2] = (byte) (h.length & 0xFF);
        out[MAGIC.length + 3] = (byte) ((h.length >>> 8) & 0xFF);
        System.arraycopy(h, 0, out, MAGIC.length + 4, h.length);
        return out;
    }

    public static void write(Path file, HostTensor t) {
        byte[] header = header(t.dtype(), t.shape());
        Path abs = file.toAbsolutePath();
        try {
            if (abs.getParent() != null) {
                Files.createDirectories(abs.getParent());
            }
            Path tmp = AtomicFiles.newSiblingFile(abs);
            try {
                try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp))) {
                    out.write(header);
                    SafetensorsWriter.writeData(out, t);
                }
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
