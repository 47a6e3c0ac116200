package dev.visiontower.api.image;

import dev.visiontower.api.HostTensor;
import dev.visiontower.api.InvalidInputException;
import dev.visiontower.api.checkpoint.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files as cameras and the web write them (testdata/wild-images, made by its make_wild_images.py), decoded as Hugging
 * Face's {@code load_image} decodes them with Pillow 12.3: EXIF orientation applied, then {@code convert("RGB")}.
 */
class WildImagesTest {
    static final Path DIR = Paths.get(System.getProperty("visiontower.testdata", "../testdata"), "wild-images");

    @TempDir
    Path tmp;

    static Stream<String> files() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            List<String> names = s.map(p -> p.getFileName().toString())
                    .filter(n -> !n.endsWith(".npy") && !n.endsWith(".py") && !n.endsWith(".md")).sorted().toList();
            assertTrue(names.size() >= 30, "fixtures missing in " + DIR.toAbsolutePath() + ": " + names);
            return names.stream();
        }
    }

    /**
     * The largest difference allowed from Pillow's pixels, in 8-bit levels: none for lossless formats (the samples are
     * the file's), one for JPEG (the JDK's libjpeg 6b and Pillow's libjpeg-turbo share the arithmetic up to rounding in
     * the inverse DCT), and more for lossy WebP, whose decoder (TwelveMonkeys' own VP8) upsamples chroma differently
     * from libwebp (README, "Image decoding").
     */
    static int allowedLevels(String name) {
        if (name.startsWith("jpeg-")) {
            return 1;
        }
        if (name.equals("webp-lossy.webp")) {
            return LOSSY_WEBP_LEVELS;
        }
        return 0;
    }

    static final int LOSSY_WEBP_LEVELS = 24;

    static int[] compare(RgbImage got, HostTensor expected) {
        assertArrayEquals(expected.shape(), new long[] {got.height(), got.width(), 3}, "decoded [H, W, 3]");
        byte[] e = expected.bytes();
        byte[] g = got.rgb();
        int max = 0;
        int over1 = 0;
        long sum = 0;
        for (int i = 0; i < e.length; i++) {
            int d = Math.abs((e[i] & 0xFF) - (g[i] & 0xFF));
            max = Math.max(max, d);
            over1 += d > 1 ? 1 : 0;
            sum += d;
        }
        return new int[] {max, over1, (int) Math.round(100.0 * sum / e.length)};
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void decodesAsHuggingFaceLoadImage(String name) {
        RgbImage got = ImageDecoding.read(DIR.resolve(name));
        int[] d = compare(got, Npy.read(DIR.resolve(name + ".rgb.npy")));
        System.out.printf("%-28s %dx%d max |diff| %d levels, mean %.2f, %d samples over one level%n", name,
                got.width(), got.height(), d[0], d[2] / 100.0, d[1]);
        assertTrue(d[0] <= allowedLevels(name), name + ": max |diff| " + d[0] + " levels, allowed "
                + allowedLevels(name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jpeg-exif-6.jpg", "jpeg-cmyk.jpg"})
    void pixelValuesMatchTransformersClipProcessor(String name) {
        HostTensor got = ImageTransform.clip(64).apply(ImageDecoding.read(DIR.resolve(name)));
        HostTensor want = Npy.read(DIR.resolve(name + ".pixel_values.npy"));
        assertArrayEquals(want.shape(), got.shape());
        float[] a = got.floats();
        float[] b = want.floats();
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        System.out.printf("%s pixel_values: max |diff| %.4f (one level %.4f)%n", name, max,
                PreprocessGoldenTest.ONE_LEVEL);
        assertTrue(max <= PreprocessGoldenTest.ONE_LEVEL + 1e-5, name + ": max |diff| " + max);
    }

    @Test
    void storedOrientationKeepsThePixelsAsStored() {
        RgbImage upright = ImageDecoding.read(DIR.resolve("jpeg-exif-1.jpg"));
        for (int o = 2; o <= 8; o++) {
            Path f = DIR.resolve("jpeg-exif-" + o + ".jpg");
            RgbImage stored = ImageDecoding.read(f, ImageLoadOptions.STORED_ORIENTATION);
            assertArrayEquals(upright.rgb(), stored.rgb(), f + " without transposition");
            RgbImage turned = ImageDecoding.read(f);
            assertEquals(o >= 5 ? upright.height() : upright.width(), turned.width(), f + " width");
            assertFalse(java.util.Arrays.equals(upright.rgb(), turned.rgb()), f + " was not transposed");
        }
    }

    @Test
    void aJpegCutInHalfIsRefused() throws IOException {
        byte[] b = Files.readAllBytes(DIR.resolve("jpeg-444.jpg"));
        Path half = tmp.resolve("half.jpg");
        Files.write(half, java.util.Arrays.copyOf(b, b.length / 2));
        String m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(half)).getMessage();
        assertTrue(m.startsWith(half.toString()) && m.contains("truncated") && !m.contains("\n"), m);
    }

    @Test
    void aPngWithABadChecksumOrCutShortIsRefused() throws IOException {
        byte[] b = Files.readAllBytes(DIR.resolve("png-rgb.png"));
        byte[] flipped = b.clone();
        flipped[b.length / 2] ^= 0x10;
        Path bad = tmp.resolve("crc.png");
        Files.write(bad, flipped);
        String m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(bad)).getMessage();
        assertTrue(m.startsWith(bad.toString()) && m.contains("CRC") && m.contains("IDAT"), m);
        Path cut = tmp.resolve("cut.png");
        Files.write(cut, java.util.Arrays.copyOf(b, b.length - 20));
        m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(cut)).getMessage();
        assertTrue(m.startsWith(cut.toString()) && m.contains("truncated PNG"), m);
    }

    @Test
    void unknownBytesAndEmptyFilesAreNamed() throws IOException {
        Path text = tmp.resolve("notes.jpg");
        Files.writeString(text, "not an image at all");
        String m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(text)).getMessage();
        assertTrue(m.startsWith(text.toString()) && m.contains("supported format"), m);
        Path empty = tmp.resolve("empty.png");
        Files.write(empty, new byte[0]);
        m = assertThrows(InvalidInputException.class, () -> ImageDecoding.read(empty)).getMessage();
        assertTrue(m.startsWith(empty.toString()) && m.contains("empty"), m);
    }
}
