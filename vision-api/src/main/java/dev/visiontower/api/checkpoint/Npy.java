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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format versions 1-3, C order): reads {@code <f4 <f8 <f2 <i8 <i4 |u1 |b1}, writes float32,
 * int64 and uint8.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

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
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new InvalidInputException(file + ": cannot parse .npy header " + header.trim());
        }
        if (f.group(1).equals("True")) {
            throw new InvalidInputException(file + ": Fortran-order arrays are not supported; save with "
                    + "np.ascontiguousarray");
        }
        List<Long> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            String p = part.trim();
            if (!p.isEmpty()) {
                try {
                    dims.add(Long.parseLong(p.replace("L", "")));
                } catch (NumberFormatException e) {
                    throw new InvalidInputException(file + ": bad shape in .npy header: (" + s.group(1) + ")");
                }
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long numel = Shapes.numel(shape);
        String descr = d.group(1);
        int size = elementSize(descr);
        if (size < 0) {
            throw new InvalidInputException(file + ": unsupported dtype '" + descr
                    + "', expected one of [<f4, <f8, <f2, <i8, <i4, |u1, |b1]");
        }
        if (dataPos + numel * size > all.length) {
            throw new InvalidInputException(file + ": data is truncated: " + descr + Shapes.format(shape) + " needs "
                    + numel * size + " bytes, file has " + (all.length - dataPos));
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

    private static int elementSize(String descr) {
        switch (descr) {
            case "<f4": case "<i4": return 4;
            case "<f8": case "<i8": return 8;
            case "<f2": return 2;
            case "|u1": case "|b1": return 1;
            default: return -1;
        }
    }

    public static void write(Path file, HostTensor t) {
        String descr;
        switch (t.dtype()) {
            case FLOAT32: descr = "<f4"; break;
            case INT64: descr = "<i8"; break;
            case UINT8: descr = "|u1"; break;
            default: throw new IllegalStateException("cannot write dtype " + t.dtype());
        }
        StringBuilder shape = new StringBuilder("(");
        long[] s = t.shape();
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
        String header = dict + " ".repeat(pad) + "\n";
        Path abs = file.toAbsolutePath();
        try {
            if (abs.getParent() != null) {
                Files.createDirectories(abs.getParent());
            }
            Path tmp = AtomicFiles.newSiblingFile(abs);
            try {
                try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp))) {
                    out.write(MAGIC);
                    out.write(1);
                    out.write(0);
                    byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
                    out.write(h.length & 0xFF);
                    out.write((h.length >>> 8) & 0xFF);
                    out.write(h);
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
