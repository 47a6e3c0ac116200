package dev.visiontower.api.image;

import dev.visiontower.api.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Images are sized from their header before anything is decoded; non-files are refused. */
class ImageLimitsTest {
    @TempDir
    Path tmp;

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeInt(data.length);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }

    /** A tiny PNG whose header declares {@code w x h} grey pixels (the data is a few compressed zero rows). */
    private Path png(int w, int h) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(ihdr);
        d.writeInt(w);
        d.writeInt(h);
        d.write(new byte[] {8, 0, 0, 0, 0}); // 8-bit grey, deflate, adaptive filter, no interlace
        chunk(out, "IHDR", ihdr.toByteArray());
        Deflater z = new Deflater();
        z.setInput(new byte[Math.min(w + 1, 4096)]);
        z.finish();
        byte[] buf = new byte[8192];
        int n = z.deflate(buf);
        chunk(out, "IDAT", java.util.Arrays.copyOf(buf, n));
        chunk(out, "IEND", new byte[0]);
        Path p = tmp.resolve(w + "x" + h + ".png");
        Files.write(p, bytes.toByteArray());
        return p;
    }

    @Test
    void aHugeDeclaredSizeIsRefusedBeforeDecoding() throws IOException {
        Path p = png(20000, 20000);
        assertTrue(Files.size(p) < 200, "a few bytes on disk");
        long before = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        String m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(p)).getMessage();
        long after = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        assertTrue(m.contains(p.toString()) && m.contains("20000x20000") && m.contains("400,000,000 pixels")
                && m.contains(ImageDecoding.MAX_PIXELS_PROPERTY), m);
        assertTrue(after - before < 200L << 20, "no pixel buffer was allocated: " + (after - before) + " bytes");
        // 30000 x 30000 x 3 bytes does not fit a Java array: the same clean refusal, never an overflow
        Path q = png(30000, 30000);
        m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(q)).getMessage();
        assertTrue(m.contains("30000x30000"), m);
    }

    @Test
    void theLimitIsConfigurable() throws IOException {
        Path p = png(100, 100);
        String old = System.getProperty(ImageDecoding.MAX_PIXELS_PROPERTY);
        System.setProperty(ImageDecoding.MAX_PIXELS_PROPERTY, "5000");
        try {
            String m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(p)).getMessage();
            assertTrue(m.contains("limit of 5,000"), m);
        } finally {
            if (old == null) {
                System.clearProperty(ImageDecoding.MAX_PIXELS_PROPERTY);
            } else {
                System.setProperty(ImageDecoding.MAX_PIXELS_PROPERTY, old);
            }
        }
        assertEquals(ImageDecoding.DEFAULT_MAX_PIXELS, ImageDecoding.maxPixels());
    }

    @Test
    void aDirectoryOrPipeIsNotAnImage() throws Exception {
        String m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(tmp)).getMessage();
        assertTrue(m.contains("not a regular file"), m);
        Path fifo = tmp.resolve("photo.png");
        org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()
                == 0, "mkfifo is available");
        m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(fifo)).getMessage();
        assertTrue(m.contains("not a regular file"), m);
    }

    @Test
    void preprocessingConfigsAreBoundedAndFinite() throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        String base = "{\"do_resize\": true, \"size\": {\"shortest_edge\": 224}, \"do_center_crop\": true, "
                + "\"crop_size\": %s, \"image_mean\": %s, \"rescale_factor\": %s}";
        String m = assertThrows(InvalidInputException.class, () -> ImageTransform.fromHuggingFace(json.readTree(
                String.format(base, "16000", "[0.5, 0.5, 0.5]", "0.00392")), "pre.json")).getMessage();
        assertTrue(m.contains("pre.json") && m.contains("crop_size 16000"), m);
        m = assertThrows(InvalidInputException.class, () -> ImageTransform.fromHuggingFace(json.readTree(
                String.format(base, "224", "[\"NaN\", 0.5, 0.5]", "0.00392")), "pre.json")).getMessage();
        assertTrue(m.contains("image_mean must be 3 numbers"), m);
        m = assertThrows(InvalidInputException.class, () -> ImageTransform.fromHuggingFace(json.readTree(
                String.format(base, "224", "[0.5, 0.5, 0.5]", "\"NaN\"")), "pre.json")).getMessage();
        assertTrue(m.contains("rescale_factor"), m);
    }

    @Test
    void resizingOnlyTheCroppedWindowGivesTheFullResizesPixels() {
        java.util.Random rnd = new java.util.Random(4);
        for (int trial = 0; trial < 40; trial++) {
            int w = 1 + rnd.nextInt(60);
            int h = 1 + rnd.nextInt(60);
            byte[] px = new byte[w * h * 3];
            rnd.nextBytes(px);
            RgbImage img = new RgbImage(w, h, px);
            int ow = 1 + rnd.nextInt(50);
            int oh = trial % 5 == 0 ? h : 1 + rnd.nextInt(50); // sometimes one pass only
            ResampleFilter f = ResampleFilter.values()[rnd.nextInt(ResampleFilter.values().length)];
            RgbImage full = PilResize.resize(img, ow, oh, f);
            int left = rnd.nextInt(ow + 10) - 5;
            int top = rnd.nextInt(oh + 10) - 5;
            int cw = 1 + rnd.nextInt(20);
            int ch = 1 + rnd.nextInt(20);
            RgbImage win = PilResize.resizeWindow(img, ow, oh, f, left, top, cw, ch);
            for (int y = 0; y < ch; y++) {
                for (int x = 0; x < cw; x++) {
                    for (int c = 0; c < 3; c++) {
                        int sx = x + left;
                        int sy = y + top;
                        int want = sx < 0 || sy < 0 || sx >= ow || sy >= oh ? 0 : full.get(sx, sy, c);
                        assertEquals(want, win.get(x, y, c), "trial " + trial + " " + f + " at " + x + "," + y);
                    }
                }
            }
        }
    }

    @Test
    void anExtremeAspectRatioCostsWhatItsCropCosts() {
        // resized in full to a shortest edge of 224 this would be 224 x 44,800,000 pixels (30 GB)
        RgbImage tall = new RgbImage(1, 200_000, new byte[200_000 * 3]);
        dev.visiontower.api.HostTensor t = ImageTransform.clip(224).apply(tall);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {1, 3, 224, 224}, t.shape());
    }
}
