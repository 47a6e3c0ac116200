package dev.visiontower.api.image;

import dev.visiontower.api.InvalidInputException;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * The container-level facts about an image file that the decoders do not check or expose: the format from its
 * signature, the chunk structure and checksums of a PNG, and where a PNG or WebP file keeps its EXIF block. Plain
 * Java, no {@code java.desktop}.
 */
final class ImageContainer {
    enum Format { PNG, JPEG, WEBP, GIF, BMP, TIFF, UNKNOWN }

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private ImageContainer() {
    }

    static Format sniff(byte[] b) {
        if (startsWith(b, PNG_SIGNATURE)) {
            return Format.PNG;
        }
        if (b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF) {
            return Format.JPEG;
        }
        if (b.length >= 12 && ascii(b, 0, 4).equals("RIFF") && ascii(b, 8, 4).equals("WEBP")) {
            return Format.WEBP;
        }
        if (b.length >= 6 && (ascii(b, 0, 6).equals("GIF87a") || ascii(b, 0, 6).equals("GIF89a"))) {
            return Format.GIF;
        }
        if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') {
            return Format.BMP;
        }
        if (b.length >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0)
                || (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42))) {
            return Format.TIFF;
        }
        return Format.UNKNOWN;
    }

    /**
     * Walks a PNG's chunks: each must lie inside the file and carry a correct CRC, and the file must end with
     * {@code IEND} (a cut or damaged file is refused here, where the JDK's decoder would skip checksums and fill
     * missing rows). Returns the {@code eXIf} chunk's payload, or {@code null}.
     */
    static byte[] checkPng(byte[] b, String name) {
        int pos = PNG_SIGNATURE.length;
        byte[] exif = null;
        CRC32 crc = new CRC32();
        boolean first = true;
        while (true) {
            if (pos + 12 > b.length) {
                throw new InvalidInputException(name + ": truncated PNG: the file ends at byte " + b.length
                        + " inside a chunk header, before the IEND chunk");
            }
            long length = readInt(b, pos) & 0xFFFFFFFFL;
            String type = ascii(b, pos + 4, 4);
            if (length > b.length - pos - 12L) {
                throw new InvalidInputException(name + ": truncated PNG: chunk '" + printable(type) + "' at byte " + pos
                        + " declares " + length + " bytes but the file has " + (b.length - pos - 12L) + " left");
            }
            if (first && !type.equals("IHDR")) {
                throw new InvalidInputException(name + ": not a valid PNG: the first chunk is '" + printable(type)
                        + "', expected IHDR");
            }
            first = false;
            int n = (int) length;
            crc.reset();
            crc.update(b, pos + 4, 4 + n);
            int stored = readInt(b, pos + 8 + n);
            if ((int) crc.getValue() != stored) {
                throw new InvalidInputException(String.format(java.util.Locale.ROOT, "%s: damaged PNG: chunk '%s' at "
                        + "byte %d fails its CRC check (stored %08x, computed %08x)", name, printable(type), pos, stored,
                        (int) crc.getValue()));
            }
            if (type.equals("eXIf") && exif == null) {
                exif = java.util.Arrays.copyOfRange(b, pos + 8, pos + 8 + n);
            }
            pos += 12 + n;
            if (type.equals("IEND")) {
                return exif;
            }
        }
    }

    /** The payload of a WebP file's {@code EXIF} chunk, or {@code null}; a malformed chunk list is an error. */
    static byte[] webpExif(byte[] b, String name) {
        int pos = 12;
        while (pos + 8 <= b.length) {
            String type = ascii(b, pos, 4);
            long size = readIntLe(b, pos + 4) & 0xFFFFFFFFL;
            if (size > b.length - pos - 8L) {
                throw new InvalidInputException(name + ": truncated WebP: chunk '" + printable(type) + "' at byte " + pos
                        + " declares " + size + " bytes but the file has " + (b.length - pos - 8L) + " left");
            }
            if (type.equals("EXIF")) {
                return java.util.Arrays.copyOfRange(b, pos + 8, pos + 8 + (int) size);
            }
            pos += 8 + (int) size + (int) (size & 1);
        }
        return null;
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        if (b.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (b[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    static String ascii(byte[] b, int off, int n) {
        return new String(b, off, Math.min(n, b.length - off), StandardCharsets.ISO_8859_1);
    }

    private static String printable(String s) {
        return s.chars().allMatch(c -> c >= 0x20 && c < 0x7f) ? s : "\\x" + java.util.HexFormat.of().formatHex(
                s.getBytes(StandardCharsets.ISO_8859_1));
    }

    private static int readInt(byte[] b, int p) {
        return (b[p] & 0xFF) << 24 | (b[p + 1] & 0xFF) << 16 | (b[p + 2] & 0xFF) << 8 | (b[p + 3] & 0xFF);
    }

    private static int readIntLe(byte[] b, int p) {
        return (b[p + 3] & 0xFF) << 24 | (b[p + 2] & 0xFF) << 16 | (b[p + 1] & 0xFF) << 8 | (b[p] & 0xFF);
    }
}
