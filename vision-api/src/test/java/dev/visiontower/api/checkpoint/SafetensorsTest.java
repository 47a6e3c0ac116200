package dev.visiontower.api.checkpoint;

import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path tmp;

    /** A file with a raw header and {@code dataBytes} zero bytes of data. */
    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = tmp.resolve("t" + System.nanoTime() + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private String error(Path p) {
        return assertThrows(CheckpointException.class, () -> Safetensors.open(p).close()).getMessage();
    }

    @Test
    void writtenFilesGetTheUsersDefaultPermissionsNotOwnerOnly() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"));
        Path reference = Files.createFile(tmp.resolve("plain")); // what the umask gives any new file
        Path p = tmp.resolve("perm.safetensors");
        SafetensorsWriter.write(p, Map.of("x", HostTensor.ofFloats(new float[] {1}, 1)), Map.of());
        assertEquals(Files.getPosixFilePermissions(reference), Files.getPosixFilePermissions(p));
        try (var leftovers = Files.list(tmp)) {
            assertEquals(0, leftovers.filter(f -> f.getFileName().toString().endsWith(".tmp")).count());
        }
    }

    @Test
    void roundTripsAllWrittenDtypes() {
        Map<String, HostTensor> m = new LinkedHashMap<>();
        m.put("f", HostTensor.ofFloats(new float[] {1.5f, -2, 3, 4, 5, 6}, 2, 3));
        m.put("i", HostTensor.ofLongs(new long[] {7, -8}, 2));
        m.put("u", HostTensor.ofBytes(new byte[] {(byte) 255, 0, 1}, 3));
        m.put("scalar", HostTensor.ofFloats(new float[] {2.6592f}));
        Path p = tmp.resolve("rt.safetensors");
        SafetensorsWriter.write(p, m, Map.of("k", "v"));
        try (Safetensors s = Safetensors.open(p)) {
            assertEquals(m.keySet(), s.names());
            assertArrayEquals(m.get("f").floats(), s.read("f").floats());
            assertArrayEquals(new long[] {2, 3}, s.info("f").shape());
            assertArrayEquals(m.get("i").longs(), s.read("i").longs());
            assertArrayEquals(m.get("u").bytes(), s.read("u").bytes());
            assertArrayEquals(new long[0], s.read("scalar").shape());
            assertEquals("v", s.metadata().get("k"));
        }
    }

    @Test
    void readsHalfAndBfloat16AsFloat32() throws IOException {
        // 1.0, -2.0 in F16 (0x3C00, 0xC000) and 1.0, 0.5 in BF16 (0x3F80, 0x3F00)
        String h = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}";
        byte[] hb = h.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + hb.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(hb.length).put(hb).putShort((short) 0x3C00).putShort((short) 0xC000)
                .putShort((short) 0x3F80).putShort((short) 0x3F00);
        Path p = tmp.resolve("half.safetensors");
        Files.write(p, buf.array());
        try (Safetensors s = Safetensors.open(p)) {
            assertArrayEquals(new float[] {1f, -2f}, s.read("h").floats());
            assertArrayEquals(new float[] {1f, 0.5f}, s.read("b").floats());
        }
    }

    @Test
    void truncatedFile() throws IOException {
        Path p = tmp.resolve("short.safetensors");
        Files.write(p, new byte[] {1, 2, 3});
        assertTrue(error(p).contains("shorter than the 8-byte header length"), error(p));
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        Path p = tmp.resolve("len.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).putLong(0);
        Files.write(p, b.array());
        String m = error(p);
        assertTrue(m.contains("runs past the end") && m.contains(p.toString()), m);
    }

    @Test
    void absurdHeaderLength() throws IOException {
        Path p = tmp.resolve("huge.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).putLong(0);
        Files.write(p, b.array());
        assertTrue(error(p).contains("header length"), error(p));
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        String m = error(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8));
        assertTrue(m.contains("'w'") && m.contains("outside"), m);
    }

    @Test
    void dtypeShapeMismatch() throws IOException {
        String m = error(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8));
        assertTrue(m.contains("'w'") && m.contains("needs 12 bytes") && m.contains("span 8"), m);
    }

    @Test
    void unknownDtype() throws IOException {
        String m = error(file("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2));
        assertTrue(m.contains("unknown dtype 'Q4'"), m);
    }

    @Test
    void overlappingTensors() throws IOException {
        String m = error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12));
        assertTrue(m.contains("overlap"), m);
    }

    @Test
    void duplicateNames() throws IOException {
        String m = error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8));
        assertTrue(m.contains("Duplicate") || m.contains("duplicate"), m);
    }

    /** The tensors must tile the data section: a lost byte, a hole or trailing bytes are corruption, not NaN. */
    @Test
    void dataSectionMustBeCoveredExactly() throws IOException {
        String one = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        try (Safetensors ok = Safetensors.open(file(one, 8))) {
            assertEquals(java.util.Set.of("a"), ok.names());
        }
        String m = error(file(one, 12));
        assertTrue(m.contains("cover 8 bytes but the data section holds 12"), m);
        String hole = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        m = error(file(hole, 12));
        assertTrue(m.contains("bytes 4..8 of the data section belong to no tensor"), m);
        // a header one byte shorter than written (a trailing pad dropped): the data shifts by one byte
        Path p = tmp.resolve("shifted.safetensors");
        SafetensorsWriter.write(p, Map.of("a", HostTensor.ofFloats(new float[] {1, 2}, 2)), Map.of());
        byte[] all = Files.readAllBytes(p);
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long len = bb.getLong(0);
        bb.putLong(0, len - 1);
        Files.write(p, all);
        m = assertThrows(CheckpointException.class, () -> Safetensors.open(p).close()).getMessage();
        assertTrue(m.contains(p.toString()), m);
    }

    @Test
    void bytesAfterTheHeaderJsonAreRefused() throws IOException {
        String m = error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4));
        assertTrue(m.contains("not valid JSON"), m);
    }

    /** A pipe named like a weight file would block a reader forever: refused at once. */
    @Test
    void aPipeIsNotAWeightFile() throws Exception {
        Path fifo = tmp.resolve("model.safetensors");
        org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()
                == 0, "mkfifo is available");
        String m = assertThrows(InvalidInputException.class, () -> Safetensors.open(fifo)).getMessage();
        assertTrue(m.contains("not a regular file"), m);
        m = assertThrows(InvalidInputException.class, () -> Checkpoint.open(tmp)).getMessage();
        assertTrue(m.contains("not a regular file"), m);
    }

    @Test
    void notJson() throws IOException {
        String m = error(file("{not json", 0));
        assertTrue(m.contains("not valid JSON"), m);
    }

    @Test
    void missingFileIsInvalidInput() {
        String m = assertThrows(InvalidInputException.class,
                () -> Safetensors.open(tmp.resolve("nope.safetensors"))).getMessage();
        assertTrue(m.contains("no such file"), m);
    }

    @Test
    void missingTensorIsNamed() {
        Path p = tmp.resolve("one.safetensors");
        SafetensorsWriter.write(p, Map.of("a", HostTensor.ofFloats(new float[] {1}, 1)), Map.of());
        try (Safetensors s = Safetensors.open(p)) {
            String m = assertThrows(CheckpointException.class, () -> s.read("b")).getMessage();
            assertTrue(m.contains("'b'"), m);
        }
    }

    @Test
    void npyRoundTrip() {
        Path p = tmp.resolve("x.npy");
        HostTensor t = HostTensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        Npy.write(p, t);
        HostTensor back = Npy.read(p);
        assertArrayEquals(t.shape(), back.shape());
        assertArrayEquals(t.floats(), back.floats());
        Path q = tmp.resolve("v.npy");
        Npy.write(q, HostTensor.ofLongs(new long[] {5, 6, 7}, 3));
        assertArrayEquals(new long[] {5, 6, 7}, Npy.read(q).longs());
    }

    @Test
    void npyTruncated() throws IOException {
        Path p = tmp.resolve("x.npy");
        Npy.write(p, HostTensor.ofFloats(new float[] {1, 2, 3, 4}, 4));
        byte[] all = Files.readAllBytes(p);
        Files.write(p, Arrays.copyOf(all, all.length - 4));
        String m = assertThrows(InvalidInputException.class, () -> Npy.read(p)).getMessage();
        assertTrue(m.contains("truncated"), m);
    }

    /** A .npy file with the given header dict text and data bytes (format 1.0, header padded as numpy does). */
    private Path npy(String dict, int dataBytes) throws IOException {
        StringBuilder h = new StringBuilder(dict);
        while ((10 + h.length() + 1) % 64 != 0) {
            h.append(' ');
        }
        h.append('\n');
        byte[] hb = h.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(10 + hb.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) hb.length).put(hb);
        Path p = tmp.resolve("n" + System.nanoTime() + ".npy");
        Files.write(p, b.array());
        return p;
    }

    private String npyError(Path p) {
        return assertThrows(InvalidInputException.class, () -> Npy.read(p)).getMessage();
    }

    @Test
    void npyHeadersAreParsedStrictly() throws IOException {
        assertArrayEquals(new long[] {2, 2}, Npy.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                16)).shape());
        assertTrue(npyError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 2), }", 16))
                .contains("negative size"));
        assertTrue(npyError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", 16))
                .contains("overflows"));
        assertTrue(npyError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 20))
                .contains("4 bytes after the data"));
        // a 'descr' that is not a key of the dict, or a key missing, is not a header
        String m = npyError(npy("{'x': \"'descr': '<f4'\", 'fortran_order': False, 'shape': (2, 2), }", 16));
        assertTrue(m.contains("cannot parse the .npy header"), m);
        m = npyError(npy("{'descr': '<f4', 'shape': (2, 2), }", 16));
        assertTrue(m.contains("cannot parse the .npy header"), m);
        m = npyError(npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 16));
        assertTrue(m.contains("twice"), m);
    }

    /** A sparse file over 2 GiB: tensors past the 2 GiB mark are mapped and read. */
    @Test
    void readsTensorsBeyondTwoGigabytes() throws IOException {
        long big = (1L << 31) + 64;
        String h = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + "," + (big + 8) + "]}}";
        byte[] hb = h.getBytes(StandardCharsets.UTF_8);
        Path p = tmp.resolve("big.safetensors");
        try (var ch = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
            ByteBuffer head = ByteBuffer.allocate(8 + hb.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(hb.length).put(hb).flip();
            ch.write(head, 0);
            ByteBuffer w = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.25f).putFloat(-3f);
            w.flip();
            ch.write(w, 8 + hb.length + big);
        }
        try (Safetensors s = Safetensors.open(p)) {
            assertArrayEquals(new float[] {1.25f, -3f}, s.read("w").floats());
            String m = assertThrows(CheckpointException.class, () -> s.read("pad")).getMessage();
            assertTrue(m.contains("over 2 GiB") || m.contains("more than a Java array"), m);
        } finally {
            Files.deleteIfExists(p);
        }
    }
}
